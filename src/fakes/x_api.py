"""A fake X API v2 for tests: a real HTTP/1.1 server on 127.0.0.1 that answers like X, and no kinder.

Endpoints (behaviour from /work/shared/reference/x-api.md, X's docs and OpenAPI spec v2.167, and captures):

- ``GET /2/tweets/search/stream/rules`` (``ids``, ``max_results``, ``pagination_token``);
- ``POST /2/tweets/search/stream/rules`` (``add``/``delete``, ``dry_run``, ``delete_all``);
- ``GET /2/tweets/search/stream``: one chunked response that never ends, split at random byte offsets (see
  ``x_stream``), ``\\r\\n`` keep-alives, one connection per app (a second one gets 429 TooManyConnections),
  409 RuleConfigurationIssue without rules;
- ``GET /2/tweets/search/recent``: newest first, ``since_id``/``until_id``/``start_time``/``end_time``,
  ``next_token`` paging, last 7 days only;
- ``DELETE /2/connections/all``: ends every open stream;
- ``GET /2/usage/tweets``: the project's post reads this month, counting what this fake delivered (``x_usage``);
- ``GET /oembed``: publish.x.com's answer (no auth, no rate limit).

Every authenticated answer carries ``x-rate-limit-limit/remaining/reset`` for its endpoint (15-minute windows:
50 stream connects, 100 rule POSTs, 450 rule GETs, 450 searches, overridable); a bad or missing bearer token
gets X's 401 before any rate limiting.

Choices where X's documentation is silent or contradicts itself (see the report in the test module too):

- ``POST rules`` answers 201 when at least one rule was created, otherwise 200 (the docs say 201 for a
  successful add, the OpenAPI spec lists only 200; both are 2xx with ``errors`` in the body, never a 4xx);
- one syntactically invalid rule in an add request means none of that request's rules are created (X's
  ``valid``/``created`` summary counts exist for this); a duplicate only skips itself; going over the rule cap
  creates nothing;
- rules take effect at once unless ``rule_propagation_delay`` is set (X: "within about 20 seconds");
- ``backfill_minutes`` is accepted and ignored (Enterprise-only at X).

Rule validation and matching are an independent, simple model documented in ``x_rules``.

This module holds the fake's settings, state and routing (authentication, rate limits, latency); each endpoint
is in a module of its own: ``x_stream_endpoint`` (the stream, its unkind controls, connections),
``x_rules_endpoint``, ``x_search_endpoint``, ``x_oembed``, ``x_usage``; ``x_render`` renders posts and
``x_errors`` says no.
"""

from __future__ import annotations

import copy
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .server import FakeHandler
from .x_endpoints import Endpoints
from .x_errors import DEFAULT_PROBLEMS, Answer, InvalidRequest, about_blank, invalid_request
from .x_http import RateWindow, RecordedRequest, read_body, send_answer
from .x_oembed import OEMBED_PATH
from .x_posts import make_post
from .x_render import Registry
from .x_stream import Outgoing, encode_line
from .x_stream_endpoint import XStreamEndpoint
from .x_usage import USAGE_PATH, UsageMeter

__all__ = [
    "CONNECTIONS_PATH",
    "DEFAULT_RATE_LIMITS",
    "OEMBED_PATH",
    "ROUTES",
    "RULES_PATH",
    "SEARCH_PATH",
    "STREAM_PATH",
    "USAGE_PATH",
    "FakeX",
    "RecordedRequest",
    "UsageMeter",
]

RULES_PATH = "/2/tweets/search/stream/rules"
STREAM_PATH = "/2/tweets/search/stream"
SEARCH_PATH = "/2/tweets/search/recent"
CONNECTIONS_PATH = "/2/connections/all"

#: X's limits per 15 minutes (x-api.md); "connections" is not documented there.
DEFAULT_RATE_LIMITS = {
    "stream": 50,
    "rules_post": 100,
    "rules_get": 450,
    "search": 450,
    "connections": 50,
    "usage": 50,
}
ROUTES = {
    ("GET", RULES_PATH): "rules_get",
    ("POST", RULES_PATH): "rules_post",
    ("GET", STREAM_PATH): "stream",
    ("GET", SEARCH_PATH): "search",
    ("DELETE", CONNECTIONS_PATH): "connections",
    ("GET", USAGE_PATH): "usage",
}


def _counter(name: str, doc: str) -> property:
    def read(self: FakeX) -> int:
        with self._cond:
            return int(self._counts[name])

    return property(read, doc=doc)


class FakeX(XStreamEndpoint, Endpoints):
    """The fake X API v2 (see the module docstring). Use as a context manager or call ``start``/``stop``;
    lifecycle, silence and waits come from ``server.FakeService``, the endpoints from ``x_stream_endpoint``
    and ``x_endpoints``."""

    def __init__(
        self,
        *,
        bearer_token: str = "test-token",
        latency: float = 0.0,
        keepalive_interval: float = 20.0,
        rule_cap: int = 1000,
        max_rule_length: int = 1024,
        split_seed: int | None = 0,
        max_connections: int = 1,
        max_query_length: int = 512,
        rate_limits: Mapping[str, int] | None = None,
        rate_window: float = 900.0,
        problems: str = DEFAULT_PROBLEMS,
        hold_dead_connections: float = 0.0,
        slow_reader_timeout: float = 10.0,
        rule_propagation_delay: float = 0.0,
        recent_window: timedelta | None = timedelta(days=7),
        rules_page_size: int = 1000,
        gzip_stream: bool = False,
        usage: UsageMeter | None = None,
    ) -> None:
        """Configure the fake; nothing listens before ``start``.

        - ``split_seed`` seeds the chunk splitting (None: fresh randomness; the seed used is kept in
          ``self.split_seed`` so a failure can be replayed);
        - ``max_connections``: simultaneous streams allowed (X: 1 per app);
        - ``rate_limits``: limits per ``rate_window`` seconds by endpoint (see ``DEFAULT_RATE_LIMITS``);
        - ``problems``: prefix of problem ``type`` URIs (``https://api.twitter.com/2/problems/`` in older
          captures);
        - ``hold_dead_connections``: seconds a stream whose client vanished still counts against the
          connection limit, as at X after a stall or a crash;
        - ``slow_reader_timeout``: a client that does not read for this long is cut off silently (SlowReader);
        - ``rule_propagation_delay``: seconds before a new rule starts matching;
        - ``recent_window``: how far back recent search looks (None: no limit, for old captured posts);
        - ``rules_page_size``: rules per page of ``GET rules`` when the request sets no ``max_results``;
        - ``gzip_stream``: the stream body is gzip-encoded (``content-encoding: gzip``, flushed at each write)
          when the request's ``accept-encoding`` allows gzip, as HTTP lets a server do;
        - ``usage``: the project's post reads and cap, answered at ``/2/usage/tweets`` (``self.usage``)."""
        super().__init__()
        self.bearer_token = bearer_token
        self.keepalive_interval = keepalive_interval
        self.rule_cap = rule_cap
        self.max_rule_length = max_rule_length
        self.split_seed = split_seed if split_seed is not None else random.SystemRandom().randrange(2**32)
        self.max_connections = max_connections
        self.max_query_length = max_query_length
        self.rate_window = rate_window
        self.problems = problems
        self.hold_dead_connections = hold_dead_connections
        self.slow_reader_timeout = slow_reader_timeout
        self.rule_propagation_delay = rule_propagation_delay
        self.recent_window = recent_window
        self.rules_page_size = rules_page_size
        self.gzip_stream = gzip_stream
        self.usage = usage or UsageMeter()
        self._latency = latency
        self._rng = random.Random(self.split_seed)
        self._rules: dict[str, dict[str, Any]] = {}
        self._rule_trees: dict[str, Any] = {}
        self._rule_active_at: dict[str, float] = {}
        self._corpus: dict[str, dict[str, Any]] = {}
        self._registry = Registry()
        self._oembed_html: dict[str, str] = {}
        self._failures: deque[Answer] = deque()
        limits = {**DEFAULT_RATE_LIMITS, **(rate_limits or {})}
        self._windows = {name: RateWindow(limit) for name, limit in limits.items()}
        self._next_tokens: dict[str, tuple[str, str]] = {}
        self._batch_depth = 0
        self._batched = []
        self._requests: list[RecordedRequest] = []
        self._counts = {
            "stream_connects": 0,
            "max_concurrent_streams": 0,
            "search_calls": 0,
            "oembed_calls": 0,
            "rule_posts": 0,
            "rule_gets": 0,
            "messages_sent": 0,
            "keepalives_sent": 0,
        }
        self._delivered: list[dict[str, Any]] = []

    # ---- lifecycle (start, stop, ``with``, ``base_url``: FakeHTTPService; cutting streams: x_stream_endpoint)

    @property
    def oembed_url(self) -> str:
        """The oEmbed endpoint (``base_url + "/oembed"``)."""
        return self.base_url + OEMBED_PATH

    # ---- test controls

    def set_latency(self, seconds: float) -> None:
        """Every response (stream, rules, search, oEmbed) first waits this long."""
        with self._cond:
            self._latency = seconds

    def set_rate_limit(self, endpoint: str, limit: int | None = None, remaining: int | None = None) -> None:
        """Change an endpoint's window (``stream``, ``rules_post``, ``rules_get``, ``search``, ...)."""
        with self._cond:
            window = self._windows[endpoint]
            if limit is not None:
                window.limit = limit
            if remaining is not None:
                if time.time() >= window.reset:
                    window.reset = time.time() + self.rate_window
                window.used = max(0, window.limit - remaining)

    def publish(
        self,
        post: Mapping[str, Any],
        *,
        users: Iterable[Mapping[str, Any]] = (),
        media: Iterable[Mapping[str, Any]] = (),
        tweets: Iterable[Mapping[str, Any]] = (),
        deliver: bool = True,
    ) -> None:
        """Add a post to the recent-search corpus and, if ``deliver``, stream it to every open stream where it
        matches at least one rule: one message listing every matching rule. ``users``/``media``/``tweets`` are
        the objects expansions can draw on (``tweets``: referenced posts, not searchable themselves)."""
        stored: dict[str, Any] = copy.deepcopy(dict(post))
        if "id" not in stored or "text" not in stored:
            raise ValueError("an X post needs at least 'id' and 'text'")
        stored["id"] = str(stored["id"])
        with self._cond:
            for user in users:
                self._registry.users[str(user["id"])] = copy.deepcopy(dict(user))
            for item in media:
                self._registry.media[str(item["media_key"])] = copy.deepcopy(dict(item))
            for referenced in tweets:
                self._registry.posts.setdefault(str(referenced["id"]), copy.deepcopy(dict(referenced)))
            self._corpus[stored["id"]] = stored
            self._registry.posts[stored["id"]] = stored
            if deliver:
                matching = self._matching_rules(stored)
                if matching:
                    for session in self._streams:
                        message = self._stream_message(stored, session.fields, matching)
                        self._queue(session, Outgoing(encode_line(message), message))
            self._changed()

    def post(self, text: str, *, deliver: bool = True, **fields: Any) -> str:
        """Publish a fresh post with ``text`` by its own user (``fields`` as ``make_post`` takes them); its id."""
        post, user = make_post(None, text, **fields)
        self.publish(post, users=[user], deliver=deliver)
        return str(post["id"])

    def delete_post(self, post_id: str) -> None:
        """The post is deleted at X: gone from search, oEmbed answers 404."""
        with self._cond:
            self._corpus.pop(str(post_id), None)
            self._registry.posts.pop(str(post_id), None)
            self._changed()

    def set_oembed_html(self, post_id: str, html: str) -> None:
        """oEmbed answers this ``html`` for the post (e.g. hostile markup), even if the post is unknown."""
        with self._cond:
            self._oembed_html[str(post_id)] = html
            self._changed()

    # ---- observation

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in order."""
        with self._cond:
            return list(self._requests)

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        """The requests to one path (and method)."""
        return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    @property
    def delivered(self) -> list[dict[str, Any]]:
        """The JSON messages fully written to streams so far."""
        with self._cond:
            return copy.deepcopy(self._delivered)

    @property
    def active_streams(self) -> int:
        """Streams currently open (including dead ones still held, see ``hold_dead_connections``)."""
        with self._cond:
            return len(self._streams)

    stream_connects = _counter("stream_connects", "GET /2/tweets/search/stream requests, refused ones included.")
    max_concurrent_streams = _counter("max_concurrent_streams", "The most streams open at once so far.")
    search_calls = _counter("search_calls", "GET /2/tweets/search/recent requests.")
    oembed_calls = _counter("oembed_calls", "GET /oembed requests.")
    rule_posts = _counter("rule_posts", "POST /2/tweets/search/stream/rules requests.")
    rule_gets = _counter("rule_gets", "GET /2/tweets/search/stream/rules requests.")
    messages_sent = _counter("messages_sent", "Post messages (with ``data``) fully written to streams.")
    keepalives_sent = _counter("keepalives_sent", "Keep-alive line ends written to streams.")

    def _state(self) -> dict[str, object]:
        return {**super()._state(), "rules": len(self._rules), **self._counts}

    # ---- internals

    def _count(self, name: str, increment: int = 1) -> None:
        with self._cond:
            self._counts[name] += increment
            self._changed()

    def _dispatch(self, handler: FakeHandler) -> None:
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        body = read_body(handler)
        method = handler.command
        headers = {name.lower(): value for name, value in handler.headers.items()}
        with self._cond:
            self._requests.append(RecordedRequest(method, parts.path, query, headers, body, time.time()))
            latency = self._latency
            counter = {
                ("GET", STREAM_PATH): "stream_connects",
                ("GET", SEARCH_PATH): "search_calls",
                ("GET", OEMBED_PATH): "oembed_calls",
                ("POST", RULES_PATH): "rule_posts",
                ("GET", RULES_PATH): "rule_gets",
            }.get((method, parts.path))
            if counter:
                self._counts[counter] += 1
            self._changed()
        if latency > 0 and self._stopping.wait(latency):
            handler.close_connection = True
            return
        if method == "GET" and parts.path == OEMBED_PATH:
            send_answer(handler, *self._oembed(query))
            return
        endpoint = ROUTES.get((method, parts.path))
        if endpoint is None:
            status = 405 if parts.path in {p for _, p in ROUTES} else 404
            title = "Method Not Allowed" if status == 405 else "Not Found"
            send_answer(handler, status, about_blank(status, title), {})
            return
        with self._cond:
            failure = self._failures.popleft() if endpoint == "stream" and self._failures else None
        if failure is not None:
            status, failure_body, failure_headers = failure
            with self._cond:
                window = self._windows[endpoint]
                window.take(time.time(), self.rate_window)
                extra = {**window.headers(), **{k.lower(): v for k, v in failure_headers.items()}}
            send_answer(handler, status, failure_body, extra)
            return
        if not self._authorized(headers.get("authorization")):
            send_answer(handler, 401, about_blank(401, "Unauthorized"), {})
            return
        with self._cond:
            window = self._windows[endpoint]
            allowed = window.take(time.time(), self.rate_window)
            rate_headers = window.headers()
        if not allowed:
            send_answer(handler, 429, about_blank(429, "Too Many Requests"), rate_headers)
            return
        try:
            if endpoint == "stream":
                self._stream(handler, query, rate_headers, headers.get("accept-encoding", ""))
                return
            handlers: dict[str, Callable[[], Answer]] = {
                "rules_get": lambda: self._get_rules(query),
                "rules_post": lambda: self._post_rules(query, body),
                "search": lambda: self._search(query),
                "connections": self._kill_connections,
                "usage": lambda: self.usage.answer(query),
            }
            answer = handlers[endpoint]()
        except InvalidRequest as error:
            answer = (400, invalid_request(error.errors, self.problems), {})
        status, answer_body, extra = answer
        if endpoint == "search" and isinstance(answer_body, dict):
            self.usage.count(len(answer_body.get("data") or ()))  # X bills each post a search returns
        send_answer(handler, status, answer_body, {**rate_headers, **extra})

    def _authorized(self, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and token.strip() == self.bearer_token
