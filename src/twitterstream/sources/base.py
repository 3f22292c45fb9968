"""What every source shares: the error tree, the status it reports, reconnect policy, line framing.

Errors a source raises or reports::

    SourceError
     +-- SourceNotConfigured   a setting is missing (no token): fatal until restarted
     +-- AuthRejected          the service refused our credentials (401/403): fatal, never retried in a loop
     +-- RateLimited           429; .retry_at when the service says when, .too_many_connections
     +-- NoRules               X's 409: a stream with no rules is refused
     +-- ServiceError          any other HTTP error status
     +-- Disconnected          the service ended the connection (in-stream error, EOF, close frame)
     +-- Stalled               nothing arrived within the read timeout or watchdog
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import httpx

from twitterstream.models import Post

if TYPE_CHECKING:
    from twitterstream.config import Settings
    from twitterstream.query import Query


class SourceError(Exception):
    """Base of every error a source reports. Messages never contain secrets."""


class SourceNotConfigured(SourceError):
    """A setting the source needs is missing or wrong."""


class AuthRejected(SourceError):
    """The service refused the credentials."""


class RateLimited(SourceError):
    """HTTP 429. ``retry_at`` (epoch seconds) is set when the service asks us to wait until then."""

    def __init__(self, message: str, retry_at: float | None = None, too_many_connections: bool = False):
        super().__init__(message)
        self.retry_at = retry_at
        self.too_many_connections = too_many_connections


class NoRules(SourceError):
    """The service refused a stream because there are no rules."""


class ServiceError(SourceError):
    """Any other HTTP error status."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class Disconnected(SourceError):
    """The service ended the connection."""


class Stalled(SourceError):
    """Nothing arrived for too long: the connection is presumed dead."""


# -- status -------------------------------------------------------------------------------------
@dataclass
class SourceStatus:
    """What the pages and ``/readyz`` say about the source, in words."""

    source: str
    state: str  # starting | connected | idle | reconnecting | standby | stopped
    reason: str = ""
    retry_at: float | None = None
    since: float = field(default_factory=time.time)

    @property
    def healthy(self) -> bool:
        return self.state in ("starting", "connected", "idle", "standby")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# -- reconnect policy ---------------------------------------------------------------------------
NETWORK, HTTP, RATE_LIMIT = "network", "http", "rate_limit"


class ReconnectPolicy:
    """X's documented reconnect policy, usable by every source.

    After a connection that delivered data drops, the first reconnect is immediate. Consecutive
    failures then back off by class: network errors linearly (+250 ms, at most 16 s), HTTP errors
    exponentially from 5 s (at most 320 s), 429 exponentially from 60 s, also waiting for the rate-limit
    reset when the service gives one. ``jitter`` spreads reconnects of many clients (Jetstream).
    """

    def __init__(self, jitter: float = 0.0, rng: random.Random | None = None) -> None:
        self.failures = {NETWORK: 0, HTTP: 0, RATE_LIMIT: 0}
        self.jitter = jitter
        self._rng = rng or random.Random()

    def delivered(self) -> None:
        """The connection delivered data: start again from an immediate reconnect."""
        self.failures = dict.fromkeys(self.failures, 0)

    def delay(self, kind: str, retry_at: float | None = None, now: float | None = None) -> float:
        """Record one failure of ``kind`` and return the seconds to wait before the next attempt."""
        self.failures[kind] += 1
        n = self.failures[kind]
        if kind == NETWORK:
            wait = min(0.25 * (n - 1), 16.0)
        elif kind == HTTP:
            wait = min(5.0 * 2 ** (n - 1), 320.0)
        else:
            wait = min(60.0 * 2 ** (n - 1), 3840.0)
        if retry_at is not None:
            wait = max(wait, retry_at - (time.time() if now is None else now))
        if self.jitter and wait:
            wait *= 1 + self._rng.uniform(0, self.jitter)
        return wait


# -- replays ----------------------------------------------------------------------------------------
class RecentKeys:
    """The last ``size`` keys seen: drops what a resumed connection or a gap fill delivers a second time.

    Not thread-safe: a source calls it from the one thread (or under the lock) that delivers.
    """

    def __init__(self, size: int = 50_000) -> None:
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def first_time(self, key: str) -> bool:
        """True the first time ``key`` is offered (and remember it); False for a repeat."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._size:
            self._keys.popitem(last=False)
        return True


# -- framing --------------------------------------------------------------------------------------
class LineSplitter:
    """Cut a byte stream into lines, whatever the chunk boundaries (mid-line, mid-character, mid-CRLF)."""

    def __init__(self, max_line: int = 16 * 1024 * 1024) -> None:
        self._buffer = b""
        self._max_line = max_line

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add bytes; return the complete lines (without ``\\r\\n``), possibly none."""
        data = self._buffer + chunk
        *lines, self._buffer = data.split(b"\n")
        if len(self._buffer) > self._max_line:
            raise Disconnected(f"a line longer than {self._max_line} bytes: the stream is garbled")
        return [line.rstrip(b"\r") for line in lines]

    @property
    def pending(self) -> int:
        """Bytes of an unfinished line (lost if the connection drops now)."""
        return len(self._buffer)


# -- the source interface ------------------------------------------------------------------------
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
        self.status = SourceStatus(self.name, "starting")

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

    def report(self, state: str, reason: str = "", retry_at: float | None = None) -> None:
        """Change the status (only when something changed) and tell the sink."""
        current = self.status
        if (current.state, current.reason, current.retry_at) == (state, reason, retry_at):
            return
        self.status = SourceStatus(self.name, state, reason, retry_at)
        self.sink.set_status(self.status)


def network_reason(exc: BaseException) -> str:
    """A network failure in words for the status line (the exception's text, which may hold a URL, is not
    shown; its type and cause are enough to tell what happened)."""
    causes: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(causes) < 5:
        causes.append(current)
        current = current.__cause__ or current.__context__
    if any(isinstance(c, socket.gaierror) for c in causes):
        return "network error: the host name does not resolve (is this machine online?)"
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "network error: the connection was refused"
    if any(isinstance(c, TimeoutError | httpx.TimeoutException) for c in causes):
        return "network error: the connection timed out"
    if any(isinstance(c, ConnectionResetError | httpx.RemoteProtocolError) for c in causes):
        return "network error: the connection was dropped"
    return f"network error: {type(exc).__name__}"


def interrupt_response(response: httpx.Response) -> None:
    """Wake a thread blocked reading ``response`` (closing a socket from another thread does not)."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)
