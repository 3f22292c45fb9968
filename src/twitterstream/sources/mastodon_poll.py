"""Mastodon without an account: the public tag timelines of one or more instances, polled.

Mastodon 4.2+ streams only to a user token, but most instances answer ``GET /api/v1/timelines/tag/:hashtag``
to anyone. So, without ``MASTODON_ACCESS_TOKEN``:

- A watched query is followed when every post it matches carries one of a few hashtags (``#a``, ``#a cats``,
  ``#a OR #b``): those hashtags' timelines are polled on every configured instance, and the ingester matches
  each status against every watched query locally, as it does with the stream. Any other query gets a
  problem saying that it needs a token.
- Each (instance, hashtag) pages forward with ``min_id`` = the newest status seen there (the answer is the
  statuses right after it, at most 40); a full page is followed at once by the next one, up to
  ``CATCH_UP_PAGES``, after which the rest of the gap is skipped. The newest ids are saved (a restart goes on
  from them).
- Rate limits: unauthenticated clients get about 300 requests per 5 minutes per IP on each instance, and
  every answer carries ``X-RateLimit-Limit``/``-Remaining``/``-Reset``. Requests to one instance are spaced so
  that what remains, less a reserve for this machine's other requests (embeds), lasts until the reset; a 429
  waits for the reset. Other failures back off per instance, without holding up the other instances.
- A status has the same ``uri`` on every instance that knows it: it is delivered once, by the first to answer.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx
import orjson

from twitterstream.errors import DecodeError
from twitterstream.models import Post, parse_time
from twitterstream.query.ast import And, Hashtag, Node, Or
from twitterstream.sources.base import Sink
from twitterstream.sources.decoding import load_json
from twitterstream.sources.dedupe import RecentKeys
from twitterstream.sources.identifiers import InvalidPost
from twitterstream.sources.mastodon_payload import post_from_status
from twitterstream.sources.network import network_reason
from twitterstream.sources.reconnect import Backoff, ReconnectPolicy
from twitterstream.status import SourceState

if TYPE_CHECKING:
    from twitterstream.query import Query

log = logging.getLogger(__name__)

STATE_NAME = "mastodon_poll"
NEEDS_TOKEN = (
    "A query that can match a post without a #hashtag needs MASTODON_ACCESS_TOKEN on Mastodon "
    "(without a token only #hashtag queries can be followed)"
)
NO_HASHTAG_QUERY = (
    "no #hashtag query is watched: without MASTODON_ACCESS_TOKEN only #hashtag queries can be followed on "
    "Mastodon (for a token: on your instance, Preferences > Development > New application, scope read:statuses)"
)
PAGE_LIMIT = 40
#: Full pages read back to back to catch up (after a restart); then the newest page, and the gap is skipped.
CATCH_UP_PAGES = 10
#: Spacing between two requests to one instance until its answers say otherwise (300 requests / 5 min).
DEFAULT_SPACING = 1.0
#: Statuses remembered by uri to drop the copies other instances (and overlapping pages) bring.
SEEN_URIS = 20_000
Report = Callable[[SourceState, str, float | None], None]


def hashtag_cover(node: Node) -> frozenset[str] | None:
    """Hashtags of which every post matching ``node`` carries one; None when a match needs none.

    A hashtag covers itself; an OR needs a cover of every branch (their union); an AND is covered by any
    child's cover (the smallest, the first of equals: fewer timelines to poll); anything else has none.
    """
    if isinstance(node, Hashtag):
        return frozenset({node.value.lower()})
    if isinstance(node, Or):
        union: set[str] = set()
        for child in node.children:
            cover = hashtag_cover(child)
            if cover is None:
                return None
            union |= cover
        return frozenset(union)
    if isinstance(node, And):
        covers = [cover for cover in map(hashtag_cover, node.children) if cover is not None]
        return min(covers, key=len) if covers else None
    return None


def tag_timeline_path(tag: str) -> str:
    """The tag timeline's path, the tag percent-encoded (a tag may hold any letter, ``/`` or ``?`` too)."""
    return f"/api/v1/timelines/tag/{quote(tag, safe='')}"


@dataclass(eq=False)
class _Instance:
    url: str
    label: str  # the host, for the status line
    http: httpx.Client
    policy: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    ready_at: float = 0.0  # no request before this (rate limit spacing, 429, backoff)
    spacing: float = DEFAULT_SPACING
    trouble: str = ""  # why it is waiting, for the status line; empty when it answers


@dataclass(eq=False)
class _Timeline:
    instance: _Instance
    tag: str
    newest: int = 0  # the newest status id seen here; 0: none yet, the first poll reads the newest page
    due_at: float = 0.0
    full_pages: int = 0


class TagTimelinePoller:
    """Polls the public tag timelines of ``instances`` for the watched queries' hashtags.

    ``step`` makes the requests that are due and says how long until the next one; ``run`` loops on it.
    ``clock`` (epoch seconds) is injectable so that tests can drive the schedule without sleeping.
    """

    def __init__(
        self,
        instances: Sequence[str],
        sink: Sink,
        *,
        poll_seconds: float,
        on_invalid: Callable[[InvalidPost], None],
        report: Report,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
    ) -> None:
        self.sink = sink
        self.poll_seconds = poll_seconds
        self._on_invalid = on_invalid
        self._report = report
        self._clock = clock
        headers = {"User-Agent": "TwitterStream/0.1"}
        self.instances = [
            _Instance(url, urlsplit(url).netloc or url, httpx.Client(base_url=url, timeout=timeout, headers=headers))
            for url in instances
        ]
        self._lock = threading.Lock()
        self._tags: tuple[str, ...] = ()
        self._timelines: dict[tuple[str, str], _Timeline] = {}
        self._saved: dict[str, dict[str, str]] = {}  # instance url -> tag -> newest id (what is saved)
        self._seen = RecentKeys(SEEN_URIS)
        self._wake = threading.Event()
        self._closed = False

    # -- the ingester's side ----------------------------------------------------------------------
    def set_queries(self, queries: Mapping[str, Query]) -> None:
        """Follow the hashtags of ``queries``; the others get a problem saying they need a token."""
        tags: set[str] = set()
        for key, query in queries.items():
            cover = hashtag_cover(query.tree)
            self.sink.set_query_problem(key, None if cover else NEEDS_TOKEN)
            tags |= cover or set()
        with self._lock:
            self._tags = tuple(sorted(tags))
        self._wake.set()

    def load(self, state: Any) -> None:
        """Resume from saved newest ids (``{"min_id": {instance: {tag: id}}}``); anything else is ignored."""
        saved = state.get("min_id") if isinstance(state, dict) else None
        if isinstance(saved, dict):
            for url, tags in saved.items():
                if isinstance(tags, dict):
                    ids = {str(t): str(i) for t, i in tags.items() if str(i).isdigit()}
                    self._saved[str(url)] = ids

    def close(self) -> None:
        self._closed = True
        self._wake.set()

    # -- the loop ---------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop`` is set or :meth:`close` is called."""
        try:
            while not stop.is_set() and not self._closed:
                delay = self.step()
                self._wake.wait(min(delay, 1.0))  # woken early by new queries and close()
                self._wake.clear()
        finally:
            for instance in self.instances:
                instance.http.close()

    def step(self) -> float:
        """Make each instance's most overdue request, if one is due; return the seconds until the next."""
        self._sync_timelines()
        for instance in self.instances:
            if self._closed:
                break
            now = self._clock()
            if instance.ready_at > now:
                continue
            due = [t for t in self._timelines.values() if t.instance is instance and t.due_at <= now]
            if due:
                self._poll(min(due, key=lambda t: t.due_at), now)
        self._report_status()
        now = self._clock()
        upcoming = [max(t.due_at, t.instance.ready_at) for t in self._timelines.values()]
        return max(min(upcoming, default=now + 60.0) - now, 0.0)

    def _sync_timelines(self) -> None:
        with self._lock:
            tags = self._tags
        wanted = {(i.url, tag): i for i in self.instances for tag in tags}
        for key in [key for key in self._timelines if key not in wanted]:
            del self._timelines[key]
            self._saved.get(key[0], {}).pop(key[1], None)
        for (url, tag), instance in wanted.items():
            if (url, tag) not in self._timelines:
                saved = self._saved.get(url, {}).get(tag, "0")
                self._timelines[url, tag] = _Timeline(instance, tag, newest=int(saved))

    def _poll(self, timeline: _Timeline, now: float) -> None:
        instance = timeline.instance
        params = {"limit": str(PAGE_LIMIT)}
        if timeline.newest:
            params["min_id"] = str(timeline.newest)
        try:
            response = instance.http.get(tag_timeline_path(timeline.tag), params=params)
        except (httpx.HTTPError, RuntimeError) as exc:  # RuntimeError: closed meanwhile
            self._fail(instance, now, Backoff.NETWORK, f"{instance.label}: {network_reason(exc)}")
            return
        self._read_limits(instance, response, now)
        if response.status_code != 200:
            self._refused(instance, response, now)
            return
        instance.policy.delivered()
        instance.trouble = ""
        try:
            statuses = load_json(response.content, "a Mastodon tag timeline")
        except DecodeError:
            statuses = None
        if not isinstance(statuses, list):
            self._fail(instance, now, Backoff.HTTP, f"{instance.label} answered something that is not a timeline")
            return
        self._take(timeline, statuses)
        timeline.due_at = now + self.poll_seconds
        if params.get("min_id") and len(statuses) >= PAGE_LIMIT:  # more are waiting after this page
            timeline.full_pages += 1
            if timeline.full_pages >= CATCH_UP_PAGES:
                log.warning(
                    "Mastodon %s #%s: still behind after %d pages; skipping to the newest statuses",
                    instance.label,
                    timeline.tag,
                    CATCH_UP_PAGES,
                )
                timeline.newest, timeline.full_pages = 0, 0
            timeline.due_at = now
        else:
            timeline.full_pages = 0

    def _take(self, timeline: _Timeline, statuses: list[Any]) -> None:
        """Deliver, oldest first, the statuses newer than the newest seen (a server that ignores ``min_id``
        answers its newest page: nothing at or below it is taken), each uri once over every instance."""
        posts: list[tuple[int, Post]] = []
        for status in statuses:
            try:
                post = post_from_status(status)
            except InvalidPost as exc:
                self._on_invalid(exc)
                continue
            except DecodeError as exc:
                log.warning("skipping an undecodable status of a Mastodon tag timeline: %s", exc)
                continue
            if int(post.id) > timeline.newest:  # the decoder checked that the id is digits
                posts.append((int(post.id), post))
        if not posts:
            return
        posts.sort(key=lambda pair: pair[0])
        for _, post in posts:
            if self._seen.first_time(str(post.extra.get("uri") or post.url or post.key)):
                self.sink.deliver(post)
        timeline.newest = posts[-1][0]
        self._saved.setdefault(timeline.instance.url, {})[timeline.tag] = str(timeline.newest)
        self.sink.save_state(STATE_NAME, {"min_id": {url: dict(tags) for url, tags in self._saved.items()}})

    # -- rate limits and failures -----------------------------------------------------------------
    def _read_limits(self, instance: _Instance, response: httpx.Response, now: float) -> None:
        """Space this instance's next request so that what its window has left lasts until the reset."""
        headers = response.headers
        reset_in = _reset_in(headers.get("x-ratelimit-reset"), headers.get("date"), self._clock())
        try:
            limit, remaining = int(headers["x-ratelimit-limit"]), int(headers["x-ratelimit-remaining"])
        except (KeyError, ValueError):
            limit = remaining = -1
        if response.status_code == 429:
            wait = max(reset_in, 1.0) if reset_in is not None else instance.policy.delay(Backoff.RATE_LIMIT)
            instance.ready_at = now + wait
            return
        if reset_in is None or limit < 0:
            instance.spacing = DEFAULT_SPACING
        else:
            spare = remaining - max(1, limit // 10)  # a tenth stays for the rest of this machine's requests
            instance.spacing = reset_in / spare if spare > 0 else max(reset_in, DEFAULT_SPACING)
        instance.ready_at = now + instance.spacing

    def _refused(self, instance: _Instance, response: httpx.Response, now: float) -> None:
        status = response.status_code
        try:
            message = str(orjson.loads(response.content).get("error", ""))
        except (orjson.JSONDecodeError, AttributeError):
            message = response.reason_phrase
        if status == 429:
            until = datetime.fromtimestamp(instance.ready_at, tz=UTC).strftime("%H:%M:%S UTC")
            instance.trouble = f"{instance.label} is rate limiting us (429 {message}): waiting until {until}"
            log.warning("Mastodon %s", instance.trouble)
        elif status in (401, 403, 422):
            reason = f"{instance.label} refuses its public timelines without a token ({status} {message})"
            self._fail(instance, now, Backoff.HTTP, reason)
        else:
            self._fail(instance, now, Backoff.HTTP, f"{instance.label} answered {status}: {message}")

    def _fail(self, instance: _Instance, now: float, kind: Backoff, reason: str) -> None:
        delay = max(instance.policy.delay(kind), 1.0)
        instance.ready_at = max(instance.ready_at, now + delay)
        instance.trouble = reason
        log.warning("Mastodon tag timelines: %s; trying again in %.0f s", reason, delay)

    def _report_status(self) -> None:
        with self._lock:
            tags = self._tags
        if not tags:
            self._report(SourceState.IDLE, NO_HASHTAG_QUERY, None)
            return
        working = [i for i in self.instances if not i.trouble]
        troubles = "; ".join(i.trouble for i in self.instances if i.trouble)
        if not working:
            self._report(SourceState.RECONNECTING, troubles, min(i.ready_at for i in self.instances))
            return
        every = max([self.poll_seconds, *(i.spacing * len(tags) for i in working)])
        reason = (
            f"polling {', '.join('#' + tag for tag in tags)} on {', '.join(i.label for i in working)} "
            f"(every {math.ceil(every)} s)"
        )
        self._report(SourceState.CONNECTED, f"{reason}; {troubles}" if troubles else reason, None)


def _reset_in(reset: str | None, date: str | None, now: float) -> float | None:
    """Seconds until the rate limit window resets, measured on the server's clock when it sends ``Date``."""
    if not reset:
        return None
    try:
        reset_at = parse_time(reset).timestamp()
    except ValueError:
        return None
    server_now = now
    if date:
        with contextlib.suppress(TypeError, ValueError):
            server_now = email.utils.parsedate_to_datetime(date).timestamp()
    return max(reset_at - server_now, 0.0)
