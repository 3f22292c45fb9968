"""The store interface: what the ingester writes and the web reads, whatever the backend.

Per watched query the store keeps the newest matches (ordered by the post's time) and an event log
(``post``, ``embed``, ``delete``) that is the live channel: a reader remembers the :class:`Event` cursor
it has seen and asks for what came after. Cursors are opaque strings; ``Event.order`` compares them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from limits.storage import MemoryStorage, Storage

from twitterstream.errors import TwitterStreamError
from twitterstream.models import Post
from twitterstream.store.stats import WindowCounts


class StoreUnavailable(TwitterStreamError, RuntimeError):
    """The backend cannot be reached right now (the caller retries with backoff)."""


class EventKind(StrEnum):
    """What an entry of a query's live channel says happened to a post."""

    POST = "post"  # it arrived (or came back: unhidden, unblocked)
    EMBED = "embed"  # its embed is ready
    DELETE = "delete"  # it is gone from the query's pages


@dataclass(slots=True)
class Event:
    """One entry of a query's live channel."""

    cursor: str
    query_key: str
    kind: EventKind
    post_key: str
    post: Post | None  # the post as stored now; None when it is gone (deleted, expired)

    @property
    def order(self) -> tuple[int, int]:
        return cursor_order(self.cursor)


@dataclass(slots=True)
class Watch:
    """A watched query: someone views it now, or did within the grace period."""

    key: str
    text: str
    viewers: int
    since: float  # epoch seconds when it was first watched
    expires_at: float


@dataclass(frozen=True, slots=True)
class PageMark:
    """Where a page of a query's posts ended: the last post's stored time and key. The next page starts
    after it, in the order of :meth:`Store.latest`, even if that post has been deleted meanwhile."""

    at: float  # the post's time as stored (epoch seconds)
    post_key: str


class UnknownPost(TwitterStreamError, LookupError):
    """A paging cursor names a post that is not among the query's stored posts."""


def cursor_order(cursor: str) -> tuple[int, int]:
    """Sortable form of a cursor: ``"12"`` (SQLite) or ``"1700000000000-3"`` (Redis stream id)."""
    head, _, tail = cursor.partition("-")
    return int(head or 0), int(tail or 0)


class Store(ABC):
    """Storage and fan-out. Every method is safe to call from several threads (or greenlets)."""

    # -- posts (the ingester writes) -------------------------------------------------------------
    @abstractmethod
    def save_post(self, post: Post, query_keys: Iterable[str]) -> list[str]:
        """Store ``post`` once (by ``post.key``) and record it as a match of each query.

        Returns the query keys it was newly matched to (already matched ones are skipped), and publishes
        a ``post`` event on each of them. Saving the same post again never stores it twice.
        """

    def save_matches(self, matches: Sequence[tuple[Post, Sequence[str]]]) -> list[list[str]]:
        """:meth:`save_post` for several posts, each with its own queries (one transaction or round trip
        where possible): the ingester's group commit."""
        return [self.save_post(post, keys) for post, keys in matches]

    @abstractmethod
    def set_embed(self, post_key: str, embed_html: str) -> list[str]:
        """Attach sanitised embed HTML to a stored post; publishes ``embed`` on its queries, returns them."""

    @abstractmethod
    def delete_post(self, post_key: str) -> list[str]:
        """Remove a post from every page (the service deleted it); publishes ``delete``; returns queries."""

    @abstractmethod
    def get_post(self, post_key: str) -> Post | None:
        """The stored post, or None."""

    @abstractmethod
    def latest(self, query_key: str, limit: int = 10) -> list[Post]:
        """The newest ``limit`` matches of a query, newest first (by the post's time)."""

    # -- paging (feeds, export, ``before=``) ----------------------------------------------------------
    @abstractmethod
    def page_mark(self, query_key: str, post_id: str) -> PageMark | None:
        """Where the stored post ``post_id`` (a post id, not a key) sits among a query's posts, or None.

        Looks through the query's stored posts (at most ``keep_per_query`` of them in a running app).
        """

    @abstractmethod
    def posts_page(
        self,
        query_key: str,
        limit: int,
        after: PageMark | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[list[Post], PageMark | None]:
        """Up to ``limit`` of a query's posts that come after ``after`` (from the newest when None), in the
        order of :meth:`latest`, posted at ``since`` or later and before ``until``; and the mark to pass for
        the next page (None once nothing is left). Fewer than ``limit`` posts means nothing is left."""

    def posts_before(
        self,
        query_key: str,
        before_post_id: str | None,
        limit: int,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Post]:
        """The page of a query's posts just older than the post ``before_post_id`` (from the newest when None).

        Raises :class:`UnknownPost` when that post is not among the query's stored posts.
        """
        mark = None
        if before_post_id is not None:
            mark = self.page_mark(query_key, before_post_id)
            if mark is None:
                raise UnknownPost(before_post_id)
        return self.posts_page(query_key, limit, mark, since, until)[0]

    def iter_posts(
        self, query_key: str, batch: int = 500, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[Post]:
        """Every stored post of a query, newest first, read ``batch`` at a time (memory stays constant)."""
        mark: PageMark | None = None
        while True:
            posts, mark = self.posts_page(query_key, batch, mark, since, until)
            yield from posts
            if mark is None or len(posts) < batch:
                return

    # -- the live channel (the web reads) --------------------------------------------------------
    @abstractmethod
    def head_cursor(self, query_key: str) -> str:
        """The cursor of the newest event of a query ("0" when none): follow from here to get only new."""

    @abstractmethod
    def events_after(self, query_key: str, cursor: str, limit: int = 500) -> list[Event]:
        """Events of one query after ``cursor``, oldest first."""

    @abstractmethod
    def find_post_event(self, query_key: str, post_id: str) -> str | None:
        """The cursor of the ``post`` event that delivered ``post_id`` (an SSE ``Last-Event-ID``), if kept."""

    @abstractmethod
    def pace(self, query_key: str, buckets: int, bucket_seconds: float = 60.0) -> list[int]:
        """Posts that arrived for a query in each of the last ``buckets`` periods, oldest first."""

    @abstractmethod
    def stats(self, query_key: str, minutes: int) -> WindowCounts:
        """What arrived for a query in the current minute and the ``minutes - 1`` before it (at most a day),
        counted exactly (see :mod:`twitterstream.store.stats`)."""

    @abstractmethod
    def wait_for_events(self, cursors: Mapping[str, str], timeout: float) -> list[Event]:
        """Block up to ``timeout`` seconds until any of the queries has events after its cursor.

        Returns them oldest first per query (possibly empty on timeout); what one write added to several of
        the queries comes in one answer (a stream of several queries sends such a post once).
        """

    # -- moderation: what operators decided (see twitterstream.moderation) ---------------------------
    @abstractmethod
    def publish(self, post_key: str, kind: EventKind, query_keys: Iterable[str] | None = None) -> list[str]:
        """Announce ``kind`` for a stored post, unchanged, on those of ``query_keys`` it matches (default:
        all its queries): how a hidden or blocked post leaves open pages and comes back. Returns them."""

    @abstractmethod
    def matched_posts(self) -> list[Post]:
        """Every stored post that some query lists (a new blocklist is checked against them)."""

    @abstractmethod
    def put_wall(self, slug: str, record: Mapping[str, Any]) -> bool:
        """Create or replace a wall's JSON record; True when it is new."""

    @abstractmethod
    def get_wall(self, slug: str) -> dict[str, Any] | None:
        """A wall's record, or None."""

    @abstractmethod
    def walls(self) -> list[dict[str, Any]]:
        """Every wall's record, by slug."""

    @abstractmethod
    def delete_wall(self, slug: str) -> bool:
        """Remove a wall and its marks; False when there was none."""

    @abstractmethod
    def set_mark(self, scope: str, kind: str, post_key: str, on: bool) -> bool:
        """Set or clear a mark on a post (``scope`` "" is global, else a wall's slug); True if it changed."""

    @abstractmethod
    def marks(self, scope: str, kind: str) -> list[str]:
        """The post keys that carry a mark, oldest mark first."""

    @abstractmethod
    def marked(self, scope: str, kind: str, post_keys: Iterable[str]) -> set[str]:
        """Which of ``post_keys`` carry a mark."""

    @abstractmethod
    def add_audit(self, entry: Mapping[str, Any]) -> None:
        """Append an operator action (a JSON object with its ``at`` time) to the audit log."""

    @abstractmethod
    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest ``limit`` audit entries, newest first."""

    # -- watching ---------------------------------------------------------------------------------
    @abstractmethod
    def watch(self, query_key: str, query_text: str, holder: str, viewers: int, ttl: float) -> None:
        """Renew ``holder``'s lease on a query: ``viewers`` people are looking, for ``ttl`` more seconds."""

    @abstractmethod
    def watched(self) -> list[Watch]:
        """Queries with an unexpired lease, most viewers first."""

    @abstractmethod
    def watched_since(self, query_key: str) -> float | None:
        """When the query's current watch began (its :class:`Watch`'s ``since``); None while it has no
        unexpired lease. Without reading every lease: a new query asks it."""

    @abstractmethod
    def watched_count(self) -> int:
        """How many queries have an unexpired lease (``len(watched())``, without building the list)."""

    # -- small state: resume cursors, source status, ingester metrics ------------------------------
    @abstractmethod
    def get_state(self, name: str) -> Any:
        """A JSON value saved with :meth:`set_state`, or None."""

    @abstractmethod
    def set_state(self, name: str, value: Any) -> None:
        """Save a small JSON value under ``name``."""

    @abstractmethod
    def state_setdefault(self, name: str, value: Any) -> Any:
        """Save ``value`` under ``name`` unless a value is there already; return the value kept.

        Atomic: processes that race with different values all get the same one back (the first saved).
        """

    # -- per-client limits (every web process on this store shares them) --------------------------------
    def rate_limit_storage(self) -> Storage:
        """Where the ``limits`` library counts per-client rates. This default counts in this process only;
        the SQLite and Redis stores count in the store, so that every worker and replica shares the count."""
        return MemoryStorage()

    @abstractmethod
    def take_stream_place(self, client: str, place: str, most: int, ttl: float) -> bool:
        """Hold ``place`` (one open live stream) among ``client``'s at most ``most``, for ``ttl`` seconds unless
        renewed; False, holding nothing, when all ``most`` are held (by any process on this store)."""

    @abstractmethod
    def release_stream_place(self, client: str, place: str) -> None:
        """Give a place back (the stream closed): the client may open another at once."""

    @abstractmethod
    def renew_stream_places(self, places: Sequence[tuple[str, str]], ttl: float) -> None:
        """Keep the ``(client, place)`` pairs held ``ttl`` more seconds (places of a process that died lapse)."""

    # -- the ingester lock --------------------------------------------------------------------------
    @abstractmethod
    def acquire_lock(self, name: str, holder: str, ttl: float) -> bool:
        """Take or renew the lock ``name`` for ``holder`` for ``ttl`` seconds; False if another holds it."""

    @abstractmethod
    def release_lock(self, name: str, holder: str) -> None:
        """Give the lock up if ``holder`` has it."""

    # -- housekeeping -------------------------------------------------------------------------------
    @abstractmethod
    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the backend answers."""

    @abstractmethod
    def trim(self, keep_per_query: int, keep_seconds: float) -> None:
        """Drop matches beyond the newest ``keep_per_query`` per query and events older than ``keep_seconds``;
        drop queries that have not been watched for ``keep_seconds``."""

    def close(self) -> None:  # noqa: B027 - most backends have something to release, not all
        """Release connections."""
