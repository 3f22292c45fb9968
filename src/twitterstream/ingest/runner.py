"""One source inside the ingester: its thread, its status, its counters, and the queries it routes locally.

A :class:`SourceRunner` is the :class:`Sink` its source talks to. It tags what the source reports with the
source's name, matches the source's posts against the queries this source can evaluate (its own
:class:`LocalRouter`), and hands everything else to the ingester, which stores all sources' posts through
one writer. A source that crashes or stops ends only its own runner: the others keep going.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twitterstream.ingest.watch import LocalRouter
from twitterstream.models import Post
from twitterstream.sources.base import Sink, Source
from twitterstream.status import SourceState, SourceStatus

if TYPE_CHECKING:
    from twitterstream.ingest.ingester import Ingester

log = logging.getLogger(__name__)

SourceFactory = Callable[[Sink], Source]

#: The counters kept per source (published under ``IngesterState.sources[name]["counters"]``).
SOURCE_COUNTERS = ("posts_received", "source_reads", "source_reconnects", "posts_invalid")


class SourceRunner:
    """Runs one source on its own thread and is that source's :class:`Sink`."""

    def __init__(self, name: str, factory: SourceFactory, ingester: Ingester) -> None:
        self.name = name
        self.factory = factory
        self.ingester = ingester
        self.router = LocalRouter()
        self.status = SourceStatus(name, SourceState.STARTING)
        self.source: Source | None = None
        self._counts = dict.fromkeys(SOURCE_COUNTERS, 0)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # -- lifecycle (called by the ingester) -------------------------------------------------------------
    def create(self) -> Source:
        """A new source (it knows no query yet), reporting to this runner."""
        self.router = LocalRouter()
        self.source = self.factory(self)
        return self.source

    def start(self, stop: threading.Event) -> None:
        source = self.source
        assert source is not None, "create() first"
        self._thread = threading.Thread(target=self._run, args=(source, stop), name=f"source-{self.name}")
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self, timeout: float = 10.0) -> None:
        """Interrupt the source and wait for its thread."""
        if self.source is not None:
            self.source.close()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self, source: Source, stop: threading.Event) -> None:
        try:
            source.run(stop)
        except Exception as exc:
            log.exception("source %s crashed", self.name)
            self.set_status(SourceStatus(self.name, SourceState.STOPPED, f"internal error: {type(exc).__name__}"))

    def counters(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def _count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount
        self.ingester.counters.add(name, amount)

    # -- the Sink interface (called by the source) ---------------------------------------------------
    def deliver(self, post: Post, query_keys: list[str] | None = None) -> None:
        """Route one post (locally unless the service routed it) and hand it to the ingester's writer."""
        try:
            self.ingester.accept(post, query_keys, self.router)
        finally:
            self._count("posts_received")

    def delete(self, post_key: str) -> None:
        self.ingester.delete(post_key)

    def set_status(self, status: SourceStatus) -> None:
        self.status = status
        self.ingester.wake()

    def count_reads(self, posts: int) -> None:
        self._count("source_reads", posts)

    def count_reconnect(self) -> None:
        self._count("source_reconnects")

    def count_invalid(self, posts: int = 1) -> None:
        self._count("posts_invalid", posts)

    def set_usage(self, posts_read: int, post_cap: int, estimated_spend_usd: float) -> None:
        self.ingester.set_usage(posts_read, post_cap, estimated_spend_usd)

    def set_query_problem(self, query_key: str, problem: str | None) -> None:
        self.ingester.set_query_problem(query_key, problem, self.name)

    def newest_post_id(self, query_key: str) -> str | None:
        return self.ingester.newest_post_id(query_key)

    def load_state(self, name: str) -> Any:
        return self.ingester.load_state(name)

    def save_state(self, name: str, value: Any) -> None:
        self.ingester.save_state(name, value)
