"""The Mastodon source: one streaming connection (SSE) to an instance, matched locally.

Mastodon 4.2+ refuses anonymous streaming, so this source needs a user access token. It reads the
instance's public (federated) stream; when the only watched query is a single hashtag it reads that
hashtag's stream instead (fewer bytes). After a reconnect it fills the gap from the timeline API
(``since_id`` = the newest status seen), which is the only replay Mastodon offers.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
import orjson
from httpx_sse import EventSource, SSEError, connect_sse

from twitterstream.config import Settings
from twitterstream.models import Post, parse_time
from twitterstream.query import LOCAL_OPERATORS
from twitterstream.sources.base import (
    HTTP,
    NETWORK,
    RATE_LIMIT,
    AuthRejected,
    Disconnected,
    RateLimited,
    ReconnectPolicy,
    ServiceError,
    Sink,
    Source,
    SourceError,
    Stalled,
    interrupt_response,
)
from twitterstream.sources.mastodon_payload import post_from_status

if TYPE_CHECKING:
    from twitterstream.query import Query

log = logging.getLogger(__name__)

UNSUPPORTED = frozenset({"is:verified", "is:quote", "cashtag", "has:cashtags"})
NO_TOKEN = (
    "MASTODON_ACCESS_TOKEN is not set: Mastodon 4.2+ refuses anonymous streaming. On your instance open "
    "Preferences > Development > New application, tick the read:statuses scope, save, copy 'Your access token' "
    "and set MASTODON_ACCESS_TOKEN=... (environment or .env), then restart."
)
_SINGLE_HASHTAG = re.compile(r"#([^\s()\"#]+)")


class MastodonSource(Source):
    """Public posts known to one Mastodon instance, live."""

    name = "mastodon"
    capabilities: ClassVar[frozenset[str]] = LOCAL_OPERATORS - UNSUPPORTED
    routes_locally = True

    def __init__(self, settings: Settings, sink: Sink) -> None:
        super().__init__(settings, sink)
        token = settings.mastodon_access_token
        self._http = httpx.Client(
            base_url=settings.mastodon_url,
            headers={"Authorization": f"Bearer {token.reveal()}"} if token else {},
            timeout=httpx.Timeout(10.0, read=settings.mastodon_read_timeout),
        )
        self._has_token = token is not None
        self._tag: str | None = None  # stream this hashtag instead of the public timeline
        self._newest_id: int = 0
        self._source: EventSource | None = None
        self._switching = False
        self._closed = False

    # -- the ingester's side ----------------------------------------------------------------------
    def set_watched(self, queries: Mapping[str, Query]) -> None:
        tags = [m.group(1) for key in queries if (m := _SINGLE_HASHTAG.fullmatch(key))]
        tag = tags[0] if len(queries) == 1 and len(tags) == 1 else None
        if tag != self._tag:
            self._tag = tag
            self._switching = True
            self._interrupt()

    def backfill(self, query_key: str, query: Query, limit: int) -> list[Post]:
        match = _SINGLE_HASHTAG.fullmatch(query_key)
        if match is None or not self._has_token:
            return []
        try:
            statuses = self._get(f"/api/v1/timelines/tag/{match.group(1)}", {"limit": "40"})
        except (SourceError, httpx.HTTPError) as exc:
            log.warning("Mastodon backfill of %s failed: %s", query_key, exc)
            return []
        return [post for post in self._decode_all(statuses) if query.matches(post)][:limit]

    def close(self) -> None:
        self._closed = True
        self._interrupt()

    def _interrupt(self) -> None:
        source = self._source
        if source is not None:
            interrupt_response(source.response)

    # -- run --------------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        if not self._has_token:
            self.report("stopped", NO_TOKEN)
            return
        policy = ReconnectPolicy(jitter=0.3)
        delay = 0.0
        reconnecting = False
        try:
            while not stop.is_set() and not self._closed:
                if delay and stop.wait(delay):
                    return
                try:
                    self._read_stream(stop, policy, fill_gap=reconnecting)
                    delay, reconnecting = 0.0, not self._switching
                    self._switching = False
                    continue
                except AuthRejected as exc:
                    self.report("stopped", str(exc))
                    return
                except RateLimited as exc:
                    reason, delay = str(exc), policy.delay(RATE_LIMIT, exc.retry_at)
                except ServiceError as exc:
                    reason, delay = str(exc), policy.delay(HTTP)
                except (Stalled, Disconnected) as exc:
                    reason, delay = str(exc), policy.delay(NETWORK)
                except (httpx.TransportError, SSEError) as exc:
                    if self._closed or stop.is_set():
                        return
                    if self._switching:  # we cut it to change streams
                        self._switching, delay = False, 0.0
                        continue
                    reason, delay = f"network error: {type(exc).__name__}", policy.delay(NETWORK)
                reconnecting = True
                self.sink.count_reconnect()
                log.warning("Mastodon stream: %s; reconnecting in %.1f s", reason, delay)
                self.report("reconnecting", reason, time.time() + delay)
        finally:
            self._http.close()

    def _read_stream(self, stop: threading.Event, policy: ReconnectPolicy, fill_gap: bool) -> None:
        tag = self._tag
        path, params = ("/api/v1/streaming/hashtag", {"tag": tag}) if tag else ("/api/v1/streaming/public", {})
        with connect_sse(self._http, "GET", path, params=params) as source:
            response = source.response
            if response.status_code != 200:
                response.read()
                raise_for_status(response)
            self._source = source
            self.report("connected", f"{self.settings.mastodon_url} {'#' + tag if tag else 'public timeline'}")
            if fill_gap and self._newest_id:
                threading.Thread(target=self._fill_gap, args=(tag, self._newest_id), daemon=True).start()
            try:
                for event in source.iter_sse():
                    policy.delivered()
                    self.handle_event(event.event, event.data)
                    if stop.is_set() or self._closed or self._switching:
                        return
            except httpx.ReadTimeout:
                raise Stalled(f"no data from Mastodon for {self.settings.mastodon_read_timeout:g} s") from None
            finally:
                self._source = None
        if not (stop.is_set() or self._closed or self._switching):
            raise Disconnected("Mastodon closed the stream")

    def handle_event(self, event: str, data: str) -> None:
        """One SSE event: ``update`` (a status), ``delete`` (a status id); others are ignored."""
        if event == "update":
            try:
                post = post_from_status(orjson.loads(data))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                log.warning("skipping an undecodable Mastodon status: %s", exc)
                return
            self._saw(post)
            self.sink.deliver(post)
        elif event == "delete":
            self.sink.delete(f"mastodon:{data.strip()}")

    def _saw(self, post: Post) -> None:
        if post.id.isdigit():
            self._newest_id = max(self._newest_id, int(post.id))

    def _fill_gap(self, tag: str | None, since_id: int) -> None:
        path = f"/api/v1/timelines/tag/{tag}" if tag else "/api/v1/timelines/public"
        try:
            statuses = self._get(path, {"limit": "40", "since_id": str(since_id)})
        except (SourceError, httpx.HTTPError) as exc:
            log.warning("Mastodon gap fill failed: %s", exc)
            return
        posts = self._decode_all(statuses)
        for post in reversed(posts):  # the API answers newest first
            self._saw(post)
            self.sink.deliver(post)
        log.info("Mastodon gap fill: %d status(es)", len(posts))

    def _get(self, path: str, params: dict[str, str]) -> Any:
        response = self._http.get(path, params=params)
        if response.status_code != 200:
            raise_for_status(response)
        return orjson.loads(response.content)

    def _decode_all(self, statuses: Any) -> list[Post]:
        posts = []
        for status in statuses if isinstance(statuses, list) else ():
            try:
                posts.append(post_from_status(status))
            except (KeyError, TypeError, ValueError):
                continue
        return posts


def raise_for_status(response: httpx.Response) -> None:
    """Map a Mastodon error answer (``{"error": "..."}``) onto the source error tree."""
    try:
        message = str(orjson.loads(response.content).get("error", ""))
    except (orjson.JSONDecodeError, AttributeError):
        message = response.reason_phrase
    status = response.status_code
    if status in (401, 403):
        raise AuthRejected(
            f"Mastodon refused the access token ({status} {message}): check MASTODON_ACCESS_TOKEN "
            "(a user token with the read:statuses scope) and restart."
        )
    if status == 429:
        reset = response.headers.get("x-ratelimit-reset")
        retry_at = _parse_reset(reset) if reset else None
        raise RateLimited(f"Mastodon answered 429: {message or 'rate limited'}", retry_at=retry_at)
    raise ServiceError(f"Mastodon answered {status}: {message}", status)


def _parse_reset(value: str) -> float | None:
    try:
        return parse_time(value).timestamp()
    except ValueError:
        return None
