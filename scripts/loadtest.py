"""Load test of the web app: start ``python app.py``, drive it with concurrent gradio_client calls, report.

    python scripts/loadtest.py [--clients 8] [--requests 5] [--rounds 4] [--size 128x96] [--codecs sd,jpeg,webp]

Starts the app in a subprocess on a free localhost port (offline, with the real TAESD from
``../shared/hf-cache`` unless HF_HUB_CACHE says otherwise; SDWEB_* settings pass through), waits for it,
then runs ``--rounds`` rounds. In each, ``--clients`` threads, each with its own ``gradio_client.Client``,
send ``--requests`` ``/compress`` calls one after the other (small crops of examples/closeup_cat.png, a
different crop per client). Per round it prints the failed requests, the latency percentiles measured by
the clients (upload, queue wait, work and download), and the server's peak and end-of-round resident
memory (psutil if installed, else /proc; peak from the kernel's high-water mark, reset before each round).

Exit status 0 when no request failed and the peak memory of the last round is within ``--max-growth-mb`` of
the second round's (the first round loads models and warms caches); else 1.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerMemory:
    """Resident memory of a process and its children, in MB; the peak from VmHWM where the kernel has it."""

    def __init__(self, pid: int):
        self.pid = pid
        try:
            import psutil

            self.process = psutil.Process(pid)
        except ImportError:
            self.process = None

    def _pids(self) -> list[int]:
        if self.process is not None:
            return [self.pid] + [c.pid for c in self.process.children(recursive=True)]
        pids, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                todo += [int(c) for c in task.read_text().split()]
        return pids

    @staticmethod
    def _status(pid: int, field: str) -> float:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return 0.0

    def rss_mb(self) -> float:
        if self.process is not None:
            import psutil

            total = 0.0
            for pid in self._pids():
                try:
                    total += psutil.Process(pid).memory_info().rss / 2**20
                except psutil.NoSuchProcess:
                    pass
            return total
        return sum(self._status(pid, "VmRSS") for pid in self._pids())

    def reset_peak(self) -> bool:
        """Reset the kernel's peak-RSS counters (Linux ≥ 4.0); False where that is not allowed."""
        try:
            for pid in self._pids():
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            return True
        except OSError:
            return False

    def kernel_peak_mb(self) -> float:
        try:
            return sum(self._status(pid, "VmHWM") for pid in self._pids())
        except OSError:
            return 0.0


def start_app(port: int, log: Path) -> subprocess.Popen:
    env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
               GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", NO_PROXY="127.0.0.1,localhost")
    if "HF_HUB_CACHE" not in env and (SHARED / "hf-cache").is_dir():
        env["HF_HUB_CACHE"] = str(SHARED / "hf-cache")
    return subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)


def wait_until_up(url: str, server: subprocess.Popen, timeout_s: float = 300) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if server.poll() is not None:
            raise SystemExit(f"the app exited with status {server.returncode} before serving")
        try:
            with urllib.request.urlopen(url + "gradio_api/info", timeout=5) as response:
                if response.status == 200:
                    return time.monotonic() - start
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the app did not answer at {url} within {timeout_s:.0f} s")


def make_images(folder: Path, clients: int, width: int, height: int) -> list[Path]:
    from PIL import Image

    paths = []
    with Image.open(ROOT / "examples" / "closeup_cat.png") as source:
        source = source.convert("RGB")
        for i in range(clients):
            x, y = (37 * i) % max(1, source.width - width), (23 * i) % max(1, source.height - height)
            path = folder / f"client{i}.png"
            source.crop((x, y, x + width, y + height)).save(path)
            paths.append(path)
    return paths


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def run_round(clients, images, requests: int, target_kb: float, codecs: list[str], memory: ServerMemory):
    from gradio_client import handle_file

    latencies, errors = [], []
    lock = threading.Lock()
    samples = []
    done = threading.Event()

    def sample():
        while not done.is_set():
            try:
                samples.append(memory.rss_mb())
            except OSError:
                pass
            done.wait(0.2)

    def work(client, image):
        for _ in range(requests):
            start = time.perf_counter()
            try:
                report, encoded, decoded = client.predict(handle_file(str(image)), target_kb, codecs,
                                                          api_name="/compress")
                got = sorted(r["codec"] for r in report["results"])
                if got != sorted(codecs) or len(encoded) != len(codecs) or len(decoded) != len(codecs):
                    raise RuntimeError(f"incomplete result: {got}")
                with lock:
                    latencies.append(time.perf_counter() - start)
            except Exception as e:  # noqa: BLE001 - every failure counts, whatever its kind
                with lock:
                    errors.append(f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}")

    exact_peak = memory.reset_peak()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    threads = [threading.Thread(target=work, args=(c, i)) for c, i in zip(clients, images)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    end_rss = memory.rss_mb()
    peak = max([*samples, end_rss] + ([memory.kernel_peak_mb()] if exact_peak else []))
    return latencies, errors, wall, peak, end_rss


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=5, help="requests per client per round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--size", default="128x96", help="WIDTHxHEIGHT of the images sent")
    parser.add_argument("--codecs", default="sd,jpeg,webp")
    parser.add_argument("--target-kb", type=float, default=2.0)
    parser.add_argument("--max-growth-mb", type=float, default=50.0,
                        help="largest acceptable rise of peak memory from round 2 to the last round")
    parser.add_argument("--url", help="drive an app already running here instead of starting one")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    codecs = [c.strip() for c in args.codecs.split(",") if c.strip()]

    from gradio_client import Client

    workdir = Path(tempfile.mkdtemp(prefix="sdweb-load-"))
    server = None
    if args.url:
        url, memory = args.url.rstrip("/") + "/", None
    else:
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        server = start_app(port, workdir / "server.log")
    try:
        if server is not None:
            startup = wait_until_up(url, server)
            memory = ServerMemory(server.pid)
            print(f"app up at {url} in {startup:.1f} s, {memory.rss_mb():.0f} MB resident "
                  f"(log: {workdir / 'server.log'})")
        images = make_images(workdir, args.clients, width, height)
        clients = [Client(url, verbose=False, analytics_enabled=False, download_files=str(workdir / f"dl{i}"))
                   for i in range(args.clients)]
        print(f"{args.clients} clients × {args.requests} requests per round, {args.rounds} rounds; "
              f"/compress of {width}×{height} images, target {args.target_kb:g} kB, codecs {','.join(codecs)}; "
              f"SDWEB_CONCURRENCY={os.environ.get('SDWEB_CONCURRENCY', '1 (default)')}")
        print(f"{'round':>5} {'requests':>8} {'failed':>6} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'req/s':>6} "
              f"{'peak MB':>8} {'end MB':>7}")
        peaks, failed_total, rows = [], 0, []
        for round_no in range(1, args.rounds + 1):
            latencies, errors, wall, peak, end_rss = run_round(
                clients, images, args.requests, args.target_kb, codecs,
                memory or _NoMemory())
            failed_total += len(errors)
            peaks.append(peak)
            n = len(latencies) + len(errors)
            rows.append(f"{round_no:5d} {n:8d} {len(errors):6d} {percentile(latencies, 50):7.2f} "
                        f"{percentile(latencies, 95):7.2f} {max(latencies, default=float('nan')):7.2f} "
                        f"{n / wall:6.2f} {peak:8.0f} {end_rss:7.0f}")
            print(rows[-1], flush=True)
            for error in sorted(set(errors))[:5]:
                print(f"      {errors.count(error)} × {error}")
        growth = peaks[-1] - peaks[1] if len(peaks) > 1 else 0.0
        print(f"failed requests: {failed_total}; peak memory from round 2 to round {len(peaks)}: "
              f"{growth:+.0f} MB")
        ok = failed_total == 0 and growth <= args.max_growth_mb
        return 0 if ok else 1
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


class _NoMemory:
    """Memory stand-in for --url: a remote app's memory cannot be read from here."""

    def rss_mb(self) -> float:
        return float("nan")

    def reset_peak(self) -> bool:
        return False

    def kernel_peak_mb(self) -> float:
        return float("nan")


if __name__ == "__main__":
    sys.exit(main())
