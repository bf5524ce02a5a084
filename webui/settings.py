"""The app's settings from SDWEB_* environment variables (README, "Web app"), read each time they are used."""

from __future__ import annotations

import os

from sdweb.models import default_model


def env_int(name: str, default: int) -> int:
    """The whole number in environment variable ``name`` ("2e6" works too), or ``default`` when unset or empty.

    Raises ValueError naming the variable when it holds something else.
    """
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return int(float(value))
    except ValueError:
        raise ValueError(f"{name} must be a number, not {value!r}") from None


def max_pixels() -> int:
    """The app's pixel cap (``SDWEB_APP_MAX_PIXELS``, default 2.1 MP: a 1920×1080 photo fits)."""
    return env_int("SDWEB_APP_MAX_PIXELS", 2_100_000)


def startup_model() -> str:
    """The SD autoencoder the page starts with: ``SDWEB_MODEL``, else sd15 on a GPU and taesd on a CPU."""
    return os.environ.get("SDWEB_MODEL") or default_model()


def run_ttl_s() -> int:
    """Seconds a request's files are kept (``SDWEB_RUN_TTL``, default one hour)."""
    return env_int("SDWEB_RUN_TTL", 3600)


def model_retry_s() -> int:
    """Seconds before a model that failed to load is tried again (``SDWEB_MODEL_RETRY``, default 600)."""
    return env_int("SDWEB_MODEL_RETRY", 600)


def concurrency() -> int:
    """Requests worked on at once (``SDWEB_CONCURRENCY``, default 1)."""
    return env_int("SDWEB_CONCURRENCY", 1)


def queue_size() -> int:
    """Requests waiting before new ones are refused (``SDWEB_QUEUE_SIZE``, default 16)."""
    return env_int("SDWEB_QUEUE_SIZE", 16)


def max_file_size() -> str:
    """The largest upload, in Gradio's notation (``SDWEB_MAX_FILE_SIZE``, default "20mb")."""
    return os.environ.get("SDWEB_MAX_FILE_SIZE", "20mb")


def mcp_server() -> bool | None:
    """True when ``SDWEB_MCP`` asks for Gradio's MCP server, else None (Gradio then follows GRADIO_MCP_SERVER)."""
    return os.environ.get("SDWEB_MCP", "").lower() in ("1", "true", "yes") or None
