"""Per-client limits: new queries per minute, open live streams per client, and watched queries in all.

A client is the request's remote address; behind ``TWITTERSTREAM_TRUSTED_PROXIES``, ProxyFix has already put
the first untrusted ``X-Forwarded-For`` hop there. Everything is counted in the store (the ``limits``
library's fixed windows in the store's rate storage, stream places in the store), so that every web worker
and replica on one store shares the counts.

The rate is checked here rather than by Flask-Limiter's route decorators: only a query that is not watched
yet counts, which is known after the query is parsed; ``limits`` is the library under Flask-Limiter.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from flask import request
from limits import RateLimitItemPerMinute
from limits.errors import StorageError
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import ServiceUnavailable, TooManyRequests

from twitterstream.config import Settings
from twitterstream.store import Store, StoreUnavailable

#: The rate limit's name in the store (its counters are per name and client).
NEW_QUERIES = "new-queries"
#: The longest client address kept (a proxy's X-Forwarded-For hop is text; an address is far shorter).
MAX_CLIENT_CHARS = 64


def client_address() -> str:
    """Who is asking: the remote address (the first untrusted X-Forwarded-For hop behind trusted proxies)."""
    return (request.remote_addr or "unknown")[:MAX_CLIENT_CHARS]


def wait_in_words(seconds: int) -> str:
    """``1 second``, ``42 seconds``, ``1 minute``, ``2 minutes and 5 seconds``."""
    minutes, rest = divmod(max(seconds, 1), 60)
    parts = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in ((minutes, "minute"), (rest, "second")) if n]
    return " and ".join(parts)


class TooManyNewQueries(TooManyRequests):
    """429: this client started too many new queries within the minute (``Retry-After`` says for how long)."""

    def __init__(self, per_minute: int, retry_after: int) -> None:
        super().__init__(
            f"You have started watching {per_minute} new searches within a minute, the most this site allows "
            f"from one address. Please wait {wait_in_words(retry_after)} before starting another; searches "
            "that are already being watched open at once.",
            retry_after=retry_after,
        )


class TooManyStreams(TooManyRequests):
    """429: this client has all its live streams open."""

    def __init__(self, most: int, retry_after: int) -> None:
        super().__init__(
            f"You have {most} live result streams open, the most this site allows from one address. "
            "Close a results page (or a stream) and open this one again.",
            retry_after=retry_after,
        )


class InstanceFull(ServiceUnavailable):
    """503: the instance watches as many queries as it may; queries already watched keep working."""

    def __init__(self, most: int) -> None:
        super().__init__(
            f"This site is full: it already watches {most:,} searches, the most it can follow at once. "
            "Searches that are already being watched still work; please try a new one later, when fewer "
            "searches are open."
        )


class ClientLimits:
    """The limits of one web process, counted in the store it shares with every other."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self._rates = FixedWindowRateLimiter(store.rate_limit_storage())
        self._new_queries = RateLimitItemPerMinute(settings.new_queries_per_minute)
        #: Renewed with the live hub's keep-alives; a process that dies stops renewing and its places lapse.
        self.place_ttl = max(4 * settings.sse_keepalive_seconds, 1.0)
        self._places: dict[str, str] = {}  # place -> client: this process's open streams
        self._lock = threading.Lock()

    def admit_query(self, query_key: str, client: str) -> bool:
        """Whether ``query_key`` is already watched (True: never refused); for a new query, raise
        :class:`InstanceFull` when ``max_queries`` are watched, or :class:`TooManyNewQueries` when ``client``
        started ``new_queries_per_minute`` new ones within the minute; else count it for ``client``."""
        if self.store.watched_since(query_key) is not None:
            return True
        self._admit_new(self.store.watched_count(), client)
        return False

    def admit_queries(self, query_keys: list[str], client: str) -> None:
        """:meth:`admit_query` for each of several queries (one stream of several): each new one counts
        against ``client``'s new queries per minute, and the new ones before it count as watched."""
        new = [key for key in query_keys if self.store.watched_since(key) is None]
        watching = self.store.watched_count() if new else 0
        for before in range(len(new)):
            self._admit_new(watching + before, client)

    def _admit_new(self, watching: int, client: str) -> None:
        if watching >= self.settings.max_queries:
            raise InstanceFull(self.settings.max_queries)
        with _store_errors():
            if not self._rates.hit(self._new_queries, NEW_QUERIES, client):
                reset_at = self._rates.get_window_stats(self._new_queries, NEW_QUERIES, client).reset_time
                raise TooManyNewQueries(self._new_queries.amount, max(math.ceil(reset_at - time.time()), 1))

    def take_stream_place(self, client: str) -> str:
        """A place for one more open live stream of ``client`` (give it back with :meth:`release_stream_place`);
        :class:`TooManyStreams` when all its ``streams_per_client`` places are held."""
        place = uuid.uuid4().hex
        most = self.settings.streams_per_client
        if not self.store.take_stream_place(client, place, most, self.place_ttl):
            # a stream holds its place until it closes; a browser's EventSource retries on its own
            raise TooManyStreams(most, math.ceil(self.settings.sse_keepalive_seconds))
        with self._lock:
            self._places[place] = client
        return place

    def release_stream_place(self, place: str) -> None:
        """Give a place back (its stream closed); calling it again does nothing. If the store does not answer,
        the place lapses by itself within ``place_ttl``."""
        with self._lock:
            client = self._places.pop(place, None)
        if client is not None:
            with suppress(StoreUnavailable):
                self.store.release_stream_place(client, place)

    def renew_stream_places(self) -> None:
        """Keep this process's places held (the live hub calls it with every keep-alive)."""
        with self._lock:
            places = [(client, place) for place, client in self._places.items()]
        with suppress(StoreUnavailable):  # the hub logs the outage; the next keep-alive renews them
            self.store.renew_stream_places(places, self.place_ttl)


@contextmanager
def _store_errors() -> Iterator[None]:
    """The ``limits`` library's storage errors (Redis, wrapped) are a store outage like any other: 503."""
    try:
        yield
    except StorageError as exc:
        raise StoreUnavailable("the store does not answer (rate limits)") from exc
