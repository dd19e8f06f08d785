"""Shared pieces of the benchmarks: gunicorn servers and load generators.

Traffic goes to 127.0.0.1 only, bounded in time.
"""

import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class ServerSettings:
    workers: int = 4
    worker_class: str = "sync"
    threads: int = 1
    backlog: int = 2048

    def args(self) -> list[str]:
        return [
            "--workers", str(self.workers),
            "--worker-class", self.worker_class,
            "--threads", str(self.threads),
            "--backlog", str(self.backlog),
            "--log-level", "warning",
        ]  # fmt: skip

    def describe(self) -> str:
        return (
            f"gunicorn {self.workers} workers, {self.worker_class} class, "
            f"{self.threads} thread(s) each, on 127.0.0.1"
        )


@contextmanager
def gunicorn(app_spec: str, env: dict, settings: ServerSettings, cwd: Path = ROOT):
    """Run `gunicorn app_spec` on a free port; yield its base URL."""
    port = free_port()
    command = [str(BIN / "gunicorn"), *settings.args(), "--bind", f"127.0.0.1:{port}", app_spec]
    process = subprocess.Popen(command, cwd=cwd, env={**os.environ, **env})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}")
            try:
                urllib.request.urlopen(base + "/", timeout=2).read()  # noqa: S310 - loopback
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not answer within 60 s") from None
                time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


# --- CPU accounting (Linux /proc): which processes used the cores during a run ---


def pids_matching(text: str) -> list[int]:
    """Processes whose command line contains `text` (empty where there is no /proc)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time used so far by these processes (those still alive)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


@dataclass
class LoadResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    tool: str


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"not a wrk latency: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(
    url: str, duration: int, connections: int, threads: int = 2, cookie: str | None = None
) -> LoadResult:
    headers = ["-H", f"Cookie: {cookie}"] if cookie else []
    output = subprocess.run(
        [
            "wrk",
            *headers,
            "--latency",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{duration}s",
            "--timeout",
            "10s",
            url,
        ],  # fmt: skip
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"\n\s+50%\s+(\S+)", output).group(1))
    p99 = _ms(re.search(r"\n\s+99%\s+(\S+)", output).group(1))
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non2xx:
        errors += int(non2xx.group(1))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return LoadResult(rps, p50, p99, errors, "wrk")


def run_python_load(
    url: str, duration: int, connections: int, cookie: str | None = None
) -> LoadResult:
    """A plain load generator for machines without wrk (threads with keep-alive)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def worker():
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        local: list[float] = []
        while time.monotonic() < stop_at:
            start = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    errors[0] += 1
            except OSError:
                errors[0] += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                continue
            local.append((time.perf_counter() - start) * 1000)
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    if not latencies:
        return LoadResult(0.0, 0.0, 0.0, errors[0], "python")
    p99_index = min(len(latencies) - 1, int(len(latencies) * 0.99))
    return LoadResult(
        len(latencies) / elapsed,
        statistics.median(latencies),
        latencies[p99_index],
        errors[0],
        "python",
    )


def load(url: str, duration: int, connections: int, cookie: str | None = None) -> LoadResult:
    """Requests/s and latency of GET `url`; `cookie`: a signed-in member's session."""
    if shutil.which("wrk"):
        return run_wrk(url, duration, connections, cookie=cookie)
    return run_python_load(url, duration, connections, cookie=cookie)
