"""Child processes for the benchmark: the app (`python -m bench.app_server`) and the Clockify sandbox
(`python -m bench.sandbox_server`). Each prints one JSON line when it listens, then serves on 127.0.0.1
until SIGTERM/SIGINT or until its stdin closes (so a killed benchmark never leaves one behind)."""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler

ROOT = Path(__file__).resolve().parent.parent


class QuietHandler(WSGIRequestHandler):
    def log(self, *args, **kwargs):
        pass


def serve_until_told(server, announce: dict) -> None:
    """Announce (one JSON line on stdout), then serve until a signal or EOF on stdin."""
    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(1):
                pass
        except (OSError, ValueError):
            pass
        stop()

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(json.dumps({**announce, "pid": os.getpid()}), flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


class Child:
    """A child process started with `python -m <module> <args>` that announces itself with a JSON line."""

    def __init__(self, module: str, *args: str, timeout: float = 60.0):
        self.proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=str(ROOT), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=None, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.stop()
            raise RuntimeError(f"{module} did not start within {timeout:.0f} s")
        self.info = json.loads(line)
        self.pid = self.proc.pid

    def status(self, field: str) -> int:
        """A /proc/<pid>/status field in kB (VmRSS, VmHWM)."""
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise KeyError(field)

    def cpu_seconds(self) -> float:
        """CPU time the process has used so far (user + system, every thread), from /proc/<pid>/stat."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def reset_hwm(self) -> bool:
        """Reset VmHWM to the current RSS (Linux: "5" into /proc/<pid>/clear_refs); False if refused."""
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as clear_refs:
                clear_refs.write("5")
            return True
        except OSError:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # the child stops on EOF
            except OSError:
                pass
            self.proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
