"""Starting a local server as a child process and waiting until it answers (benchmarks and tests).

Why one home: the load test, the start-up benchmark and the tests each start a real server (the app, or
``chroma run``) and must tell "still starting" from "died" from "too slow"; one loop says which.
"""
from __future__ import annotations

import socket
import subprocess
import time
import urllib.request


class ServerExited(RuntimeError):
    """The child process ended before it answered."""

    def __init__(self, returncode: int):
        super().__init__(f"the server exited with status {returncode} before answering")
        self.returncode = returncode


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(url: str, proc: subprocess.Popen, timeout: float, interval: float = 0.3) -> float:
    """Poll ``url`` until it answers HTTP 200; the seconds it took. Raises ``ServerExited`` when ``proc``
    ends first and ``TimeoutError`` after ``timeout`` seconds."""
    start = time.monotonic()
    while True:
        if proc.poll() is not None:
            raise ServerExited(proc.returncode)
        try:
            with urllib.request.urlopen(url, timeout=max(interval, 2.0)) as r:
                if r.status == 200:
                    return time.monotonic() - start
        except OSError:
            pass
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(interval)
