"""The source interface: a :class:`Source` reads a service and hands what it receives to a :class:`Sink`."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from twitterstream.models import Post
from twitterstream.sources.identifiers import InvalidPost
from twitterstream.status import SourceState, SourceStatus

if TYPE_CHECKING:
    from twitterstream.config import Settings
    from twitterstream.query import Query

log = logging.getLogger(__name__)


class Sink(Protocol):
    """What a source hands its work to (the ingester)."""

    def deliver(self, post: Post, query_keys: list[str] | None = None) -> None:
        """A post arrived. ``query_keys`` when the service routed it; None to match it locally."""

    def delete(self, post_key: str) -> None:
        """The service deleted a post."""

    def set_status(self, status: SourceStatus) -> None:
        """The source's state changed."""

    def count_reads(self, posts: int) -> None:
        """Posts the service bills for (each post read)."""

    def count_reconnect(self) -> None:
        """A reconnect attempt."""

    def count_invalid(self, posts: int = 1) -> None:
        """Posts dropped because their ids, DIDs, handles or URLs break the service's syntax."""

    def set_usage(self, posts_read: int, post_cap: int, estimated_spend_usd: float) -> None:
        """The month's billed reads, the cap (0: none known) and their estimated cost (X's cost guard)."""

    def set_query_problem(self, query_key: str, problem: str | None) -> None:
        """The service cannot serve this query (rejected rule, limit reached); None clears it."""

    def newest_post_id(self, query_key: str) -> str | None:
        """The newest stored post id of a query (for gap fills)."""

    def load_state(self, name: str) -> Any:
        """Resume state saved earlier (a cursor)."""

    def save_state(self, name: str, value: Any) -> None:
        """Save resume state."""


class NullSink:
    """A :class:`Sink` that does nothing: a base for benchmarks and test recorders."""

    def deliver(self, post: Post, query_keys: list[str] | None = None) -> None:
        pass

    def delete(self, post_key: str) -> None:
        pass

    def set_status(self, status: SourceStatus) -> None:
        pass

    def count_reads(self, posts: int) -> None:
        pass

    def count_reconnect(self) -> None:
        pass

    def count_invalid(self, posts: int = 1) -> None:
        pass

    def set_usage(self, posts_read: int, post_cap: int, estimated_spend_usd: float) -> None:
        pass

    def set_query_problem(self, query_key: str, problem: str | None) -> None:
        pass

    def newest_post_id(self, query_key: str) -> str | None:
        return None

    def load_state(self, name: str) -> Any:
        return None

    def save_state(self, name: str, value: Any) -> None:
        pass


class Source(ABC):
    """A client for one service. ``run`` holds the connection until ``stop`` is set."""

    name: ClassVar[str]
    #: True: the service does no filtering, the ingester matches every post with the local index.
    routes_locally: ClassVar[bool] = True

    def __init__(self, settings: Settings, sink: Sink) -> None:
        self.settings = settings
        self.sink = sink
        self.status = SourceStatus(self.name, SourceState.STARTING)
        self._invalid_seen: set[str] = set()

    @abstractmethod
    def run(self, stop: threading.Event) -> None:
        """Receive posts until ``stop`` is set or a fatal error (reported through the status) occurs."""

    def set_watched(self, queries: Mapping[str, Query]) -> None:  # noqa: B027 - optional hook
        """The watched queries changed (X keeps its rules in step). Must return quickly."""

    def resume(self, query_key: str, newest_post_id: str) -> None:  # noqa: B027 - optional hook
        """A watched query already has posts up to ``newest_post_id`` (a restart, a standby taking over):
        fetch what was missed since, where the service allows it."""

    def backfill(self, query_key: str, query: Query, limit: int) -> list[Post]:
        """The latest ``limit`` posts for a newly watched query, from the service's search (if any)."""
        return []

    def prepare(self, post: Post) -> None:  # noqa: B027 - optional hook
        """Complete a post that is about to be stored (cheap; e.g. a cached author handle)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Interrupt ``run`` promptly (close sockets)."""

    def drop_invalid(self, exc: InvalidPost) -> None:
        """A decoded post broke the service's syntax: it is not delivered, only counted. The first of each
        kind of fault is logged at WARNING; the rest at DEBUG, so a hostile upstream cannot flood the log."""
        self.sink.count_invalid()
        first = exc.field not in self._invalid_seen
        self._invalid_seen.add(exc.field)
        log.log(
            logging.WARNING if first else logging.DEBUG,
            "%s: dropped a post: %s (posts_invalid counts every one)",
            self.name,
            exc,
        )

    def report(self, state: SourceState, reason: str = "", retry_at: float | None = None, warning: str = "") -> None:
        """Change the status (only when something changed) and tell the sink."""
        current = self.status
        if (current.state, current.reason, current.retry_at, current.warning) == (state, reason, retry_at, warning):
            return
        self.status = SourceStatus(self.name, state, reason, retry_at, warning)
        self.sink.set_status(self.status)
