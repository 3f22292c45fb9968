"""The Mastodon source: one streaming connection (SSE) to an instance, matched locally.

Mastodon 4.2+ refuses anonymous streaming: with a user access token this source streams; without one it
polls the public tag timelines of every instance in ``MASTODON_URL`` instead (:mod:`.mastodon_poll`, hashtag
queries only). With a token it reads the first instance's
instance's public (federated) stream; when the only watched query is a single hashtag it reads that
hashtag's stream instead (fewer bytes). After a reconnect it fills the gap from the timeline API, paging
forward from the newest status seen (``min_id``), which is the only replay Mastodon offers; after a restart
or a takeover it does the same from the newest stored status (``resume``). A status that arrives twice (a
gap fill overlaps the new stream) is delivered once.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx
import orjson
from httpx_sse import EventSource, SSEError, connect_sse

from twitterstream.config import Settings
from twitterstream.errors import DecodeError
from twitterstream.models import Post, parse_time
from twitterstream.sources.base import Sink, Source
from twitterstream.sources.decoding import load_json
from twitterstream.sources.dedupe import RecentKeys
from twitterstream.sources.errors import AuthRejected, Disconnected, RateLimited, ServiceError, SourceError, Stalled
from twitterstream.sources.identifiers import InvalidPost
from twitterstream.sources.mastodon_payload import post_from_status
from twitterstream.sources.mastodon_poll import STATE_NAME as POLL_STATE
from twitterstream.sources.mastodon_poll import TagTimelinePoller, tag_timeline_path
from twitterstream.sources.network import interrupt_response, network_reason
from twitterstream.sources.reconnect import Backoff, ReconnectPolicy
from twitterstream.status import SourceState

if TYPE_CHECKING:
    from twitterstream.query import Query

log = logging.getLogger(__name__)

_SINGLE_HASHTAG = re.compile(r"#([^\s()\"#]+)")
#: The timeline API's largest page, and how many pages one gap fill may read (400 statuses).
PAGE_LIMIT = 40
GAP_FILL_MAX_PAGES = 10
#: How many status ids are remembered to drop the ones a gap fill and the live stream both deliver.
SEEN_IDS = 20_000

__all__ = ["MastodonSource", "raise_for_status", "tag_timeline_path"]


class MastodonSource(Source):
    """Public posts known to one Mastodon instance, live."""

    name = "mastodon"
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
        self._resume_after = 0  # the newest stored status before a restart: fill from there once
        self._seen = RecentKeys(SEEN_IDS)
        self._deliver_lock = threading.Lock()  # the stream and gap fills deliver one at a time
        self._gap_fills: list[threading.Thread] = []
        self._source: EventSource | None = None
        self._switching = False
        self._closed = False
        #: Without a token: the tag timelines of every configured instance, polled.
        self._poller = (
            None
            if self._has_token
            else TagTimelinePoller(
                settings.mastodon_instances,
                sink,
                poll_seconds=settings.mastodon_poll_seconds,
                on_invalid=self.drop_invalid,
                report=self.report,
            )
        )

    # -- the ingester's side ----------------------------------------------------------------------
    def set_watched(self, queries: Mapping[str, Query]) -> None:
        if self._poller is not None:
            self._poller.set_queries(queries)
            return
        tags = [m.group(1) for key in queries if (m := _SINGLE_HASHTAG.fullmatch(key))]
        tag = tags[0] if len(queries) == 1 and len(tags) == 1 else None
        if tag != self._tag:
            self._tag = tag
            self._switching = True
            self._interrupt()
        if self._resume_after and self._has_token and not self._closed:  # the resumed queries are indexed now
            after, self._resume_after = self._resume_after, 0
            self._start_gap_fill(tag, after)

    def resume(self, query_key: str, newest_post_id: str) -> None:
        """Fill from the timeline what was published since the newest stored status (one fill for all).

        The newest of the resumed queries' newest statuses is where the previous ingester stopped; older
        ones belong to queries that simply matched nothing since, and were live until then.
        """
        if newest_post_id.isdigit():
            self._resume_after = max(self._resume_after, int(newest_post_id))

    def backfill(self, query_key: str, query: Query, limit: int) -> list[Post]:
        match = _SINGLE_HASHTAG.fullmatch(query_key)
        if match is None or not self._has_token:
            return []
        try:
            statuses = self._get(tag_timeline_path(match.group(1)), {"limit": str(PAGE_LIMIT)})
        except (SourceError, httpx.HTTPError) as exc:
            log.warning("Mastodon backfill of %s failed: %s", query_key, exc)
            return []
        return [post for post in self._decode_all(statuses) if query.matches(post)][:limit]

    def close(self) -> None:
        self._closed = True
        if self._poller is not None:
            self._poller.close()
        self._interrupt()

    def _interrupt(self) -> None:
        source = self._source
        if source is not None:
            interrupt_response(source.response)

    # -- run --------------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        if self._poller is not None:
            try:
                self._poller.load(self.sink.load_state(POLL_STATE))
                self._poller.run(stop)
            finally:
                self._http.close()
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
                    self.report(SourceState.STOPPED, str(exc))
                    return
                except RateLimited as exc:
                    reason, delay = str(exc), policy.delay(Backoff.RATE_LIMIT, exc.retry_at)
                except ServiceError as exc:
                    reason, delay = str(exc), policy.delay(Backoff.HTTP)
                except (Stalled, Disconnected) as exc:
                    reason, delay = str(exc), policy.delay(Backoff.NETWORK)
                except (httpx.TransportError, SSEError) as exc:
                    if self._closed or stop.is_set():
                        return
                    if self._switching:  # we cut it to change streams
                        self._switching, delay = False, 0.0
                        continue
                    reason, delay = network_reason(exc), policy.delay(Backoff.NETWORK)
                reconnecting = True
                self.sink.count_reconnect()
                log.warning("Mastodon stream: %s; reconnecting in %.1f s", reason, delay)
                self.report(SourceState.RECONNECTING, reason, time.time() + delay)
        finally:
            for gap_fill in self._gap_fills:
                gap_fill.join(timeout=5)
            self._http.close()

    def _read_stream(self, stop: threading.Event, policy: ReconnectPolicy, fill_gap: bool) -> None:
        tag = self._tag
        path, params = ("/api/v1/streaming/hashtag", {"tag": tag}) if tag else ("/api/v1/streaming/public", {})
        with connect_sse(self._http, "GET", path, params=params) as source:
            response = source.response
            if response.status_code != 200:
                response.read()
                raise_for_status(response)
            self._source = source  # from here on, close() and set_watched() can interrupt the read
            try:
                if self._closed or stop.is_set():  # closed while we connected (before there was a read to cut)
                    return
                if self._tag != tag:  # the watched queries changed while we connected: switch now
                    self._switching = True
                    return
                self.report(
                    SourceState.CONNECTED, f"{self.settings.mastodon_url} {'#' + tag if tag else 'public timeline'}"
                )
                if fill_gap and self._newest_id:
                    self._start_gap_fill(tag, self._newest_id)
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
        """One SSE event: ``update`` or ``status.update`` (a status, new or edited), ``delete`` (a bare status
        id); others are ignored. A status is delivered once: an edit of one already delivered is dropped."""
        if event in ("update", "status.update"):
            try:
                post = post_from_status(load_json(data, "a Mastodon status"))
            except InvalidPost as exc:
                self.drop_invalid(exc)
                return
            except DecodeError as exc:
                log.warning("skipping an undecodable Mastodon status: %s", exc)
                return
            self._deliver(post)
        elif event == "delete":
            self.sink.delete(f"mastodon:{data.strip()}")

    def _deliver(self, post: Post) -> None:
        """Hand a status to the sink once, however many times the stream and gap fills bring it."""
        with self._deliver_lock:
            if post.id.isdigit():
                self._newest_id = max(self._newest_id, int(post.id))
            if self._seen.first_time(post.id):
                self.sink.deliver(post)

    def _start_gap_fill(self, tag: str | None, after_id: int) -> None:
        self._gap_fills = [thread for thread in self._gap_fills if thread.is_alive()]
        thread = threading.Thread(target=self._fill_gap, args=(tag, after_id), name="mastodon-gap-fill", daemon=True)
        self._gap_fills.append(thread)
        thread.start()

    def _fill_gap(self, tag: str | None, after_id: int) -> None:
        """Deliver, oldest first, every status newer than ``after_id`` on the stream's timeline.

        ``min_id`` answers the statuses immediately newer than the id (``since_id`` would answer the newest
        page and skip the rest), so the fill pages forward until a page comes back empty, at most
        ``GAP_FILL_MAX_PAGES`` pages. ``since_id`` is sent too (Mastodon lets ``min_id`` win): a server that
        only knows ``since_id`` still answers nothing older, and whatever is not newer is dropped here.
        """
        path = tag_timeline_path(tag) if tag else "/api/v1/timelines/public"
        cursor, delivered = after_id, 0
        for _ in range(GAP_FILL_MAX_PAGES):
            if self._closed:
                return
            try:
                statuses = self._get(path, {"limit": str(PAGE_LIMIT), "min_id": str(cursor), "since_id": str(cursor)})
            except (SourceError, httpx.HTTPError, orjson.JSONDecodeError, RuntimeError) as exc:  # Runtime: closed
                log.warning("Mastodon gap fill failed after %d status(es): %s", delivered, exc)
                return
            posts = [p for p in self._decode_all(statuses) if not p.id.isdigit() or int(p.id) > cursor]
            newest = max((int(p.id) for p in posts if p.id.isdigit()), default=0)
            if not posts or newest <= cursor:
                break
            for post in sorted(posts, key=_id_order):  # the API answers newest first
                self._deliver(post)
            delivered += len(posts)
            cursor = newest
        else:
            log.warning(
                "Mastodon gap fill stopped after %d pages (%d statuses): the rest of the gap, up to the "
                "reconnect, is skipped",
                GAP_FILL_MAX_PAGES,
                delivered,
            )
            return
        log.info("Mastodon gap fill: %d status(es)", delivered)

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
            except InvalidPost as exc:
                self.drop_invalid(exc)
            except DecodeError as exc:
                log.debug("skipping an undecodable status of a timeline page: %s", exc)
        return posts


def _id_order(post: Post) -> tuple[int, str]:
    return (int(post.id) if post.id.isdigit() else 0, post.id)


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
