"""A real `twitterstream serve` subprocess for browser tests, and the replay lines it reads."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import orjson


class Server:
    """A `twitterstream serve` subprocess on a free port; its output is kept for the test to read."""

    def __init__(self, env: dict[str, str], cwd: Path, port: int = 0) -> None:
        """Start serving (``port`` 0: any free port; give the old one to restart a server in place)."""
        full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1", "LOG_LEVEL": env.get("LOG_LEVEL", "INFO")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "twitterstream", "serve", "--port", str(port)],
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
        self.port = int(address.rsplit(":", 1)[1])

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


def stream_line(post_id: int, text: str, seconds: int, name: str = "Wall Tester") -> bytes:
    """An X API v2 stream message, as the replay source reads it (created 2026-11-01 12:00 + ``seconds``)."""
    offset = 0
    hashtags = []
    for word in text.split(" "):
        if word.startswith("#"):
            hashtags.append({"start": offset, "end": offset + len(word), "tag": word[1:]})
        offset += len(word) + 1
    message = {
        "data": {
            "id": str(post_id),
            "text": text,
            "author_id": "7",
            "created_at": f"2026-11-01T12:{seconds // 60:02d}:{seconds % 60:02d}.000Z",
            "lang": "en",
            "entities": {"hashtags": hashtags} if hashtags else {},
        },
        "includes": {"users": [{"id": "7", "username": "wall_tester", "name": name}]},
    }
    return orjson.dumps(message) + b"\n"


def append_lines(path: Path, *lines: bytes) -> None:
    """Append to a replay file in one write (the source follows the file as it grows)."""
    with path.open("ab") as capture:
        capture.write(b"".join(lines))


def replay_env(replay_file: Path, instance: Path) -> dict[str, str]:
    """The environment of a serve process replaying ``replay_file`` as fast as it can."""
    return {
        "TWITTERSTREAM_SOURCE": "replay",
        "REPLAY_FILE": str(replay_file),
        "REPLAY_RATE": "0",
        "TWITTERSTREAM_INSTANCE_PATH": str(instance),
        "SECRET_KEY": "browser-tests",
    }
