"""A real `twitterstream serve` subprocess for browser tests, and the replay lines it reads."""

from __future__ import annotations

from pathlib import Path

import orjson

from fakes.x_api import FakeX
from harness import X_TOKEN
from processes import AppProcess

#: An init script that records the page's Content-Security-Policy violations in ``window.cspViolations``.
WATCH_CSP = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.cspViolations.push(e.violatedDirective + " " + e.blockedURI));
"""
#: A phone's browser context (Playwright's ``new_context`` options).
PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}


class Server(AppProcess):
    """``twitterstream serve`` on a free port (``port`` 0), or on the port of a server being restarted."""

    #: The replay file it reads, when it replays one (append to it to post).
    capture: Path

    def __init__(self, env: dict[str, str], cwd: Path, port: int = 0) -> None:
        super().__init__(["serve", "--port", str(port)], {"LOG_LEVEL": "INFO", **env}, cwd)
        self.port = int(self.url.rsplit(":", 1)[1])


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


def x_env(fake: FakeX, instance: Path, **extra: str) -> dict[str, str]:
    """The environment of a serve process reading the fake X (``extra``: more settings)."""
    return {
        "TWITTERSTREAM_SOURCE": "x",
        "X_BEARER_TOKEN": X_TOKEN,
        "X_API_URL": fake.base_url,
        "X_OEMBED_URL": fake.oembed_url,
        "TWITTERSTREAM_INSTANCE_PATH": str(instance),
        "SECRET_KEY": "browser-tests",
        **extra,
    }


def replay_env(replay_file: Path, instance: Path) -> dict[str, str]:
    """The environment of a serve process replaying ``replay_file`` as fast as it can."""
    return {
        "TWITTERSTREAM_SOURCE": "replay",
        "REPLAY_FILE": str(replay_file),
        "REPLAY_RATE": "0",
        "TWITTERSTREAM_INSTANCE_PATH": str(instance),
        "SECRET_KEY": "browser-tests",
    }
