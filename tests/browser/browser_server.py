"""A real `twitterstream serve` subprocess for browser tests."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path


class Server:
    """A `twitterstream serve` subprocess on a free port; its output is kept for the test to read."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1", "LOG_LEVEL": env.get("LOG_LEVEL", "INFO")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "twitterstream", "serve", "--port", "0"],
            env=full_env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        started: queue.Queue[str] = queue.Queue()

        def pump() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.lines.append(line)
                if "listening on http://" in line:
                    started.put(line.rsplit("http://", 1)[1].strip().rstrip("/"))
            started.put("")

        threading.Thread(target=pump, daemon=True).start()
        address = started.get(timeout=30)
        if not address:
            raise AssertionError("serve did not start:\n" + "".join(self.lines))
        self.url = f"http://{address}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @property
    def output(self) -> str:
        return "".join(self.lines)
