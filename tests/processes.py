"""Run `twitterstream` commands as real subprocesses and read what they say."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import orjson

_ADDRESS = re.compile(r"(?:listening on|Listening at:) http://([\d.]+:\d+)")


class AppProcess:
    """``twitterstream <args>`` with ``env``; ``url`` is where it listens (read from its log)."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "twitterstream", *args],
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
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
                if match := _ADDRESS.search(line):
                    started.put(match.group(1))
            started.put("")

        threading.Thread(target=pump, daemon=True).start()
        address = started.get(timeout=30)
        if not address:
            raise AssertionError(f"twitterstream {' '.join(args)} did not start:\n{self.output}")
        self.url = f"http://{address}"

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def kill(self) -> None:
        """kill -9: no goodbye, no lock release."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class SSEClient:
    """Reads ``event: post`` ids from a live stream in a background thread."""

    def __init__(self, url: str) -> None:
        self.post_ids: list[str] = []
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(5.0, read=30.0))
        self._thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self._thread.start()

    def _read(self, url: str) -> None:
        try:
            with self._client.stream("GET", url) as response:
                self.connected.set()
                event = ""
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event == "post":
                        self.post_ids.append(str(orjson.loads(line[6:])["id"]))
        except httpx.HTTPError:
            if not self._stop.is_set():
                raise

    def close(self) -> None:
        self._stop.set()
        self._client.close()
