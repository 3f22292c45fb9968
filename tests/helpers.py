"""Small builders shared by tests (inputs in plain sight)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from twitterstream.models import Author, Post
from twitterstream.sources.base import NullSink, Source
from twitterstream.status import SourceStatus

BASE_TIME = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


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


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for servers that cannot be told to bind port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RecordingSink(NullSink):
    """Remembers what a source hands the ingester: posts, deletes, statuses, saved state, posts dropped."""

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        self.posts: list[Post] = []
        self.invalid = 0
        self.deleted: list[str] = []
        self.statuses: list[SourceStatus] = []
        self.state: dict[str, Any] = dict(state or {})

    def deliver(self, post: Post, query_keys: list[str] | None = None) -> None:
        self.posts.append(post)

    def delete(self, post_key: str) -> None:
        self.deleted.append(post_key)

    def set_status(self, status: SourceStatus) -> None:
        self.statuses.append(status)

    def count_invalid(self, posts: int = 1) -> None:
        self.invalid += posts

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
