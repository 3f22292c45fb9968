"""Small builders shared by tests (inputs in plain sight), a recording sink, a private redis-server."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import orjson
import pytest

from fakes.waiting import Changes, eventually
from twitterstream.models import Author, Post
from twitterstream.sources.base import NullSink, Source
from twitterstream.status import SourceStatus

BASE_TIME = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
T = TypeVar("T")


def make_post(
    post_id: str | int,
    text: str = "hello world",
    *,
    source: str = "x",
    seconds: float = 0,
    username: str = "someone",
    **fields: Any,
) -> Post:
    """A Post created ``seconds`` after BASE_TIME (defaults: the post id, so higher ids are newer)."""
    post_id = str(post_id)
    offset = seconds or (int(post_id) if post_id.isdigit() and int(post_id) < 10**9 else 0)
    return Post(
        id=post_id,
        source=source,
        url=f"https://x.com/{username}/status/{post_id}",
        text=text,
        created_at=BASE_TIME + timedelta(seconds=offset),
        author=Author(id="42", username=username, name="Some One"),
        **fields,
    )


def replay_line(post_id: int, text: str) -> bytes:
    """One line of a replay file: an X stream message with just an id and a text."""
    return orjson.dumps({"data": {"id": str(post_id), "text": text}}) + b"\n"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for servers that cannot be told to bind port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RecordingSink(NullSink):
    """Remembers what a source hands the ingester: posts, deletes, statuses, saved state, posts dropped."""

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        self.changes = Changes()
        self.posts: list[Post] = []
        self.invalid = 0
        self.deleted: list[str] = []
        self.statuses: list[SourceStatus] = []
        self.state: dict[str, Any] = dict(state or {})

    def deliver(self, post: Post, query_keys: list[str] | None = None) -> None:
        self.posts.append(post)
        self.changes.bump()

    def delete(self, post_key: str) -> None:
        self.deleted.append(post_key)
        self.changes.bump()

    def set_status(self, status: SourceStatus) -> None:
        self.statuses.append(status)
        self.changes.bump()

    def count_invalid(self, posts: int = 1) -> None:
        self.invalid += posts
        self.changes.bump()

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0, message: str = "") -> T:
        """Block until ``predicate()`` is truthy (woken by whatever the source hands over) and return it."""
        return eventually(predicate, timeout, message, changes=self.changes, detail=self.describe)

    def describe(self) -> str:
        return f"RecordingSink(posts={len(self.posts)}, deleted={len(self.deleted)}, invalid={self.invalid})"

    def load_state(self, name: str) -> Any:
        return self.state.get(name)

    def save_state(self, name: str, value: Any) -> None:
        self.state[name] = value


@contextmanager
def running(source: Source) -> Iterator[Source]:
    """Run ``source`` in a thread for the ``with`` block; then stop it, close it and wait for it."""
    stop = threading.Event()
    thread = threading.Thread(target=source.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield source
    finally:
        stop.set()
        source.close()
        thread.join(5)


def redis_binary() -> str:
    """The redis-server binary; without one the test is skipped (and fails in CI, where it must be there)."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed: Redis tests cannot run (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        print(f"\n!!! SKIPPING REDIS TESTS: {message} !!!", file=sys.stderr)
        pytest.skip(message)
    return binary


class RedisProcess:
    """A private redis-server on 127.0.0.1 (a free port, kept across ``stop`` and ``start``), keeping nothing on
    disk; a test may kill it, freeze it (``freeze``/``thaw``: SIGSTOP, SIGCONT) and start it again."""

    def __init__(self) -> None:
        self.binary = redis_binary()
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it (empty) and return once it accepts connections."""
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        eventually(self._accepting, timeout=10, message=f"redis-server to accept connections on {self.port}")

    def _accepting(self) -> bool:
        assert self.process is not None and self.process.poll() is None, "redis-server exited at start"
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
        except OSError:
            return False
        return True

    def freeze(self) -> None:
        """SIGSTOP: it holds every connection and answers nothing (a network partition looks the same)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT: it answers again."""
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """kill -9: gone at once, with everything it held."""
        if self.process is not None:
            self.thaw()  # a stopped process must not be left behind
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None
