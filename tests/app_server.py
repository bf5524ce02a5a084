"""Start app.py's page on a free localhost port for tests (gradio_client and browser tests share this)."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from pathlib import Path

# Before gradio is imported: no analytics or version checks, and no proxy between the tests and localhost.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def free_port() -> int:
    # Gradio cannot launch on port 0; ask the OS for a free port and hand that over instead.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_app():
    """Build the page as ``python app.py`` does (queue and launch options included) and yield its URL."""
    import app

    demo = app.configure_queue(app.build_demo())
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", server_port=free_port(),
                            ssr_mode=False, **app.launch_options())
    try:
        yield url
    finally:
        demo.close()
