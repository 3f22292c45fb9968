"""The X source: keeps X's stream rules in step with the watched queries and holds the one stream.

Two loops run while the source runs:

- the rules loop reconciles the rules at X with the watched queries (desired set vs what X holds). Rules
  it creates carry a ``twitterstream:`` tag; rules without it belong to someone else and are left alone.
- the stream loop holds one filtered-stream connection while at least one of our rules exists (X refuses a
  stream without rules), routes each post by ``matching_rules``, follows X's reconnect policy, and after a
  reconnect fills the gap with recent search (``since_id`` = the newest post stored for each query).

The cost guard (``x_usage``) counts every post read; at X's monthly cap (or the operator's) the stream is
closed and no search is made until the cap's reset day. A third loop re-reads X's usage figures.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import httpx

from twitterstream.errors import DecodeError
from twitterstream.models import Post
from twitterstream.sources.base import Sink, Source
from twitterstream.sources.errors import (
    AuthRejected,
    Disconnected,
    NoRules,
    RateLimited,
    ServiceError,
    SourceError,
    SourceNotConfigured,
    Stalled,
)
from twitterstream.sources.framing import LineSplitter
from twitterstream.sources.identifiers import InvalidPost
from twitterstream.sources.network import network_reason
from twitterstream.sources.reconnect import Backoff, ReconnectPolicy
from twitterstream.sources.x_client import StreamConnection, XClient
from twitterstream.sources.x_payload import StreamMessage, decode_stream_line
from twitterstream.sources.x_rules import reconcile_rules, route
from twitterstream.sources.x_search import USAGE_CHECK_WAIT, RecentSearch
from twitterstream.sources.x_usage import CostGuard, UsageWatch
from twitterstream.status import SourceState

if TYPE_CHECKING:
    from twitterstream.config import Settings
    from twitterstream.query import Query

log = logging.getLogger(__name__)

RECONCILE_EVERY = 60.0


class XSource(Source):
    """X API v2 filtered stream, backfilled and gap-filled by recent search."""

    name = "x"
    routes_locally = False

    def __init__(
        self, settings: Settings, sink: Sink, client: XClient | None = None, guard: CostGuard | None = None
    ) -> None:
        super().__init__(settings, sink)
        self.client = client
        self.config_problem = ""
        if client is None:
            token = settings.x_bearer_token
            try:
                self.client = XClient(
                    settings.x_api_url, token.reveal() if token else None, settings.x_stream_read_timeout
                )
            except SourceNotConfigured as exc:
                self.config_problem = str(exc)
        self._cond = threading.Condition()
        self._desired: dict[str, Query] = {}
        self._rule_routes: dict[str, tuple[str, ...]] = {}  # X rule id -> the query keys it serves
        self._rules_dirty = True
        self._watched_known = False  # no reconcile before the ingester said what is watched: it would delete all
        self._fatal = ""
        self._stopping = False
        self._connection: StreamConnection | None = None
        self._closing_on_purpose = False
        self._problems: dict[str, str] = {}
        # Queries X refused as invalid, with the reason: not sent again while they stay watched (rule
        # requests are rate limited, and X's answer will not change).
        self._refused: dict[str, str] = {}
        self._resumed: dict[str, str | None] = {}  # query key -> newest stored post id, to fill at connect
        guard = guard or CostGuard(settings.x_monthly_post_cap, settings.x_price_per_post)
        self._report_lock = threading.RLock()
        read_usage = self.client.get_usage if self.client else dict
        self.usage = UsageWatch(guard, read_usage, sink, lambda: self._interrupt(on_purpose=True), self._usage_changed)
        window = settings.recent_window_seconds
        self.search = RecentSearch(self.client, self.usage, window, self.drop_invalid) if self.client else None

    # -- the ingester's side --------------------------------------------------------------------
    def set_watched(self, queries: Mapping[str, Query]) -> None:
        with self._cond:
            self._desired = dict(queries)
            self._rules_dirty = True
            self._watched_known = True
            self._cond.notify_all()

    def resume(self, query_key: str, newest_post_id: str) -> None:
        with self._cond:
            self._resumed[query_key] = newest_post_id

    def backfill(self, query_key: str, query: Query, limit: int) -> list[Post]:
        if self.search is None:
            return []
        self.usage.checked.wait(USAGE_CHECK_WAIT)  # X's answer there may be a refused token, or the cap
        return [] if self._fatal else self.search.backfill(query.key, limit)  # the query as X reads it

    def close(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._interrupt()

    # -- run ----------------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        if self.client is None:
            self.report(SourceState.STOPPED, self.config_problem)
            return
        watcher = threading.Thread(target=self._forward_stop, args=(stop,), daemon=True, name="x-stop")
        watcher.start()
        if not self._check_usage():  # before any stream or search: a project already at its cap reads nothing
            return
        usage = threading.Thread(target=self._usage_loop, daemon=True, name="x-usage")
        usage.start()
        rules = threading.Thread(target=self._rules_loop, daemon=True, name="x-rules")
        rules.start()
        try:
            self._stream_loop()
        finally:
            self.close()
            rules.join(timeout=5)
            usage.join(timeout=5)
            if self.status.state != SourceState.STOPPED or not self.status.reason:
                self.report(SourceState.STOPPED, self._fatal or "stopped")

    def _forward_stop(self, stop: threading.Event) -> None:
        stop.wait()
        self.close()

    def _halted(self) -> bool:
        return self._stopping or bool(self._fatal)

    def _wait(self, predicate: Callable[[], bool], timeout: float | None) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._halted() or predicate(), timeout)

    def _set_fatal(self, exc: SourceError) -> None:
        with self._cond:
            self._fatal = str(exc)
            self._cond.notify_all()
        self.report(SourceState.STOPPED, str(exc))
        self._interrupt()

    # -- cost guard -------------------------------------------------------------------------------
    def _usage_loop(self) -> None:
        """Re-read X's figures every ``X_USAGE_CHECK_SECONDS`` (and just after the cap's reset day)."""
        while not self._halted():
            self._wait(lambda: False, self.usage.seconds_to_next_check(self.settings.x_usage_check_seconds))
            if self._halted() or not self._check_usage():
                return

    def _check_usage(self) -> bool:
        """Read X's usage figures; False when X refused the token (fatal: every call would be refused)."""
        try:
            self.usage.check()
        except AuthRejected as exc:
            self._set_fatal(exc)
        return not self._fatal

    def _usage_changed(self) -> None:
        with self._cond:
            self._cond.notify_all()
        with self._report_lock:  # the stream loop may be reporting another state meanwhile
            if self.status.state == SourceState.CONNECTED:
                self.report(SourceState.CONNECTED, warning=self.usage.warning)
            elif self.status.state == SourceState.PAUSED and not self.usage.guard.allow_read():
                self._report_paused()  # newer figures

    def report(self, state: SourceState, reason: str = "", retry_at: float | None = None, warning: str = "") -> None:
        with self._report_lock:
            super().report(state, reason, retry_at, warning)

    def _pause(self) -> None:
        """Wait, reading nothing, until the cap resets (a usage check or the reset day wakes us)."""
        self._report_paused()
        self._wait(self.usage.guard.allow_read, self.usage.seconds_to_next_check(self.settings.x_usage_check_seconds))

    def _report_paused(self) -> None:
        guard = self.usage.guard
        self.report(SourceState.PAUSED, guard.words(), guard.resumes_at.timestamp())

    # -- rules loop -------------------------------------------------------------------------------
    def _rules_loop(self) -> None:
        policy = ReconnectPolicy()
        self._wait(lambda: self._watched_known, None)
        while not self._halted():
            self._wait(lambda: self._rules_dirty, RECONCILE_EVERY)
            if self._halted():
                return
            with self._cond:
                self._rules_dirty = False
            try:
                self._reconcile()
                policy.delivered()
                continue
            except AuthRejected as exc:
                self._set_fatal(exc)
                return
            except RateLimited as exc:
                delay = policy.delay(Backoff.RATE_LIMIT, exc.retry_at)
            except ServiceError as exc:
                log.warning("rules sync failed: %s", exc)
                delay = policy.delay(Backoff.HTTP)
            except (httpx.TransportError, SourceError) as exc:
                log.warning("rules sync failed: %s", exc)
                delay = policy.delay(Backoff.NETWORK) or 0.25
            log.info("next rules sync in %.1f s", delay)
            self._wait(lambda: False, delay)
            with self._cond:
                self._rules_dirty = True

    def _reconcile(self) -> None:
        assert self.client is not None
        with self._cond:
            desired = dict(self._desired)
        result = reconcile_rules(self.client, desired, self._refused)
        self._refused = result.refused
        with self._cond:
            self._rule_routes = result.routes
            self._problems = result.problems
            self._cond.notify_all()
        for key in desired:
            self.sink.set_query_problem(key, result.problems.get(key))
        if not result.routes:
            self._interrupt(on_purpose=True)

    # -- stream loop ------------------------------------------------------------------------------
    def _want_stream(self) -> bool:
        return bool(self._rule_routes) and bool(self._desired)

    def _stream_loop(self) -> None:
        assert self.client is not None
        policy = ReconnectPolicy()
        gap_since: dict[str, str | None] | None = None
        connected_before = False
        delay = 0.0
        while not self._halted():
            if not self.usage.guard.allow_read():
                self._pause()
                continue
            if not self._want_stream():
                self.report(
                    SourceState.IDLE, "no watched queries: the stream stays disconnected until someone watches one"
                )
                self._wait(lambda: self._want_stream() or not self.usage.guard.allow_read(), None)
                continue
            if delay:
                self._wait(lambda: False, delay)
                if self._halted() or not self._want_stream() or not self.usage.guard.allow_read():
                    continue
            if connected_before:
                self.sink.count_reconnect()
            try:
                with self.client.open_stream() as connection:
                    self._closing_on_purpose = False
                    self._connection = connection
                    if self._halted():
                        return
                    self.report(SourceState.CONNECTED, warning=self.usage.warning)
                    connected_before = True
                    with self._cond:
                        gap_since = {**self._resumed, **(gap_since or {})}
                        self._resumed = {}
                    if gap_since:
                        threading.Thread(target=self._fill_gap, args=(gap_since,), daemon=True).start()
                    gap_since = None
                    self._read(connection, policy)
                delay = 0.0
            except AuthRejected as exc:
                self._set_fatal(exc)
                return
            except RateLimited as exc:
                delay = policy.delay(Backoff.RATE_LIMIT, None if exc.too_many_connections else exc.retry_at)
                self._reconnecting(str(exc), delay)
            except NoRules as exc:
                with self._cond:
                    self._rules_dirty = True
                    self._cond.notify_all()
                delay = policy.delay(Backoff.HTTP)
                self._reconnecting(str(exc), delay)
            except ServiceError as exc:
                delay = policy.delay(Backoff.HTTP)
                self._reconnecting(str(exc), delay)
            except (Disconnected, Stalled) as exc:
                delay = policy.delay(Backoff.NETWORK)
                self._reconnecting(str(exc), delay)
            except httpx.TransportError as exc:
                delay = policy.delay(Backoff.NETWORK)
                self._reconnecting(network_reason(exc), delay)
            finally:
                self._connection = None
            if gap_since is None:
                gap_since = {key: self.sink.newest_post_id(key) for key in list(self._desired)}

    def _reconnecting(self, reason: str, delay: float) -> None:
        if self._halted():
            return
        log.warning("X stream: %s; reconnecting in %.2f s", reason, delay)
        self.report(SourceState.RECONNECTING, reason, time.time() + delay)

    def _interrupt(self, on_purpose: bool = False) -> None:
        connection = self._connection
        if connection is not None:
            self._closing_on_purpose = on_purpose or self._closing_on_purpose
            connection.interrupt()

    def _read(self, connection: StreamConnection, policy: ReconnectPolicy) -> None:
        """Read until the connection ends. Returns when we closed it on purpose; raises otherwise."""
        splitter = LineSplitter()
        disconnect_reason = ""
        try:
            for chunk in connection.chunks():
                if chunk:
                    policy.delivered()
                for line in splitter.feed(chunk):
                    reason = self._handle_line(line)
                    disconnect_reason = reason or disconnect_reason
                if self._halted():
                    return
        except httpx.ReadTimeout:
            raise Stalled(f"no data from X for {self.settings.x_stream_read_timeout:.0f} s") from None
        except httpx.DecodingError:
            raise Disconnected("X sent a compressed stream that does not decode") from None
        except httpx.TransportError:
            if self._closing_on_purpose or self._halted():
                return
            raise
        if self._closing_on_purpose or self._halted():
            return
        raise Disconnected(disconnect_reason or "X closed the stream")

    def _handle_line(self, line: bytes) -> str:
        """Handle one stream line; returns the reason when it is an in-stream disconnect message."""
        try:
            message = decode_stream_line(line)
        except InvalidPost as exc:
            self.sink.count_reads(1)
            self.drop_invalid(exc)
            return ""
        except DecodeError as exc:
            log.warning("skipping an undecodable stream line (%d bytes): %s", len(line), exc)
            return ""
        if message is None:
            return ""
        if message.errors:
            return self._stream_errors(message)
        for post in message.posts:
            self.usage.count(1)
            keys = route(message, self._rule_routes, self._desired)
            if keys:
                self.sink.deliver(post, keys)
        return ""

    def _stream_errors(self, message: StreamMessage) -> str:
        first = message.errors[0]
        kind = str(first.get("disconnect_type") or first.get("title") or "error")
        detail = str(first.get("detail") or "")
        log.warning("X stream error %s: %s", kind, detail)
        return f"X disconnected the stream ({kind})"

    def _fill_gap(self, since: dict[str, str | None]) -> None:
        """Recent search for what each query may have missed while disconnected."""
        assert self.search is not None
        for key, since_id in since.items():
            query = self._desired.get(key)
            if query is None or self._halted():
                continue
            posts, rate_limited = self.search.fill_gap(query.key, since_id)  # the query as X reads it
            for post in reversed(posts):  # oldest first, like the stream
                self.sink.deliver(post, [key])
            log.info("gap fill of %r: %d post(s)", key, len(posts))
            if rate_limited:
                return
