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
"""

from __future__ import annotations

import contextlib
import copy
import random
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import x_rules
from .server import FakeHandler
from .x_endpoints import Endpoints
from .x_http import RateWindow, RecordedRequest, read_body, send_answer
from .x_posts import make_post, next_snowflake
from .x_render import (
    DEFAULT_PROBLEMS,
    NO_RULES_DETAIL,
    TOO_MANY_CONNECTIONS_DETAIL,
    Answer,
    Fields,
    InvalidRequest,
    Registry,
    about_blank,
    build_includes,
    connection_exception,
    invalid_request,
    operational_disconnect_message,
    parse_fields,
    render_post,
)
from .x_stream import Outgoing, StreamSession, encode_line
from .x_usage import USAGE_PATH, UsageMeter

RULES_PATH = "/2/tweets/search/stream/rules"
STREAM_PATH = "/2/tweets/search/stream"
SEARCH_PATH = "/2/tweets/search/recent"
CONNECTIONS_PATH = "/2/connections/all"
OEMBED_PATH = "/oembed"

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


class FakeX(Endpoints):
    """The fake X API v2 (see the module docstring). Use as a context manager or call ``start``/``stop``;
    lifecycle, silence and waits come from ``server.FakeService``."""

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
        self._batched: list[_Batched] = []
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

    # ---- lifecycle (start, stop, ``with``, ``base_url``: FakeHTTPService)

    def _end_streams(self) -> None:
        """Open streams are cut at once (no terminating chunk); idle connections are closed by the base."""
        for session in self._streams:
            session.control = "stop"
            session.wake()

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

    def add_rule(self, value: str, tag: str | None = None) -> str:
        """Add a rule directly (one the app did not create); returns its id."""
        with self._cond:
            rule_id = self._store_rule(value, tag)
            self._changed()
            return rule_id

    def delete_rule(self, rule_id: str) -> None:
        """Remove a rule directly."""
        with self._cond:
            self._rules.pop(rule_id, None)
            self._rule_trees.pop(rule_id, None)
            self._changed()

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

    def send_message(self, message: Mapping[str, Any]) -> None:
        """Write any JSON object as a stream line (unknown message types, numeric rule ids, duplicates...)."""
        with self._cond:
            for session in self._streams:
                self._queue(session, Outgoing(encode_line(dict(message)), dict(message)))
            self._changed()

    def send_raw(self, data: bytes) -> None:
        """Write raw bytes into the open streams (still split into chunks at random)."""
        with self._cond:
            for session in self._streams:
                self._queue(session, Outgoing(data))
            self._changed()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Messages published inside go out together at the end, in as few chunks as the splitter decides."""
        with self._cond:
            self._batch_depth += 1
        try:
            yield
        finally:
            with self._cond:
                self._batch_depth -= 1
                if self._batch_depth == 0:
                    batched, self._batched = self._batched, []
                    for item in batched:
                        item.session.enqueue(item.outgoing)
                self._changed()

    def drop_stream(self, mid_line: bool = True, reset: bool = False) -> None:
        """Abruptly close the open streams: no terminating chunk (FIN), or a TCP RST with ``reset``.

        With ``mid_line`` the first queued message (or a made-up one) is cut in half first. Queued messages
        are lost (their posts stay searchable)."""
        with self._cond:
            for session in self._streams:
                if session.dead:
                    continue
                held = [item for item in self._batched if item.session is session]
                self._batched = [item for item in self._batched if item.session is not session]
                session.pending += [item.outgoing for item in held]
                if mid_line and not session.pending and not session.stalled:
                    filler = {
                        "data": {
                            "id": next_snowflake(),
                            "text": "cut off \u2014 \u00e9t\u00e9 \U0001f600",
                            "edit_history_tweet_ids": [],
                        },
                        "matching_rules": [],
                    }
                    session.pending.append(Outgoing(encode_line(filler), filler))
                session.control = "reset" if reset else ("drop-mid-line" if mid_line else "drop")
                session.wake()
            self._changed()

    def operational_disconnect(self, disconnect_type: str = "OperationalDisconnect") -> None:
        """Send X's in-stream ``errors`` message (after anything already queued), then end the response."""
        message = operational_disconnect_message(disconnect_type, self.problems)
        with self._cond:
            for session in self._streams:
                if session.dead:
                    continue
                session.disconnect_message = b"".join(item.line for item in session.pending) + encode_line(message)
                session.pending = []
                session.control = f"disconnect:{disconnect_type}"
                session.wake()
            self._changed()

    def stall(self) -> None:
        """The open streams go silent: no data, no keep-alives (posts meant for them are lost) until
        ``drop_stream``/``stop``; the connection stays open and keeps counting as the app's connection.

        Returns once every stream's writer has noticed, so no byte is written after this returns."""
        with self._cond:
            for session in self._streams:
                session.stalled = True
                session.pending = []
                session.wake()
            self._changed()
            self._wait_until_stalled()

    def silence(self) -> None:
        """Every stream, open now or opened later, goes silent as with ``stall`` until ``resume()``.

        Returns once every open stream's writer has noticed."""
        super().silence()
        with self._cond:
            self._wait_until_stalled()

    def _on_silence(self, silent: bool) -> None:
        for session in self._streams:
            session.stalled = silent
            if silent:
                session.pending = []
            else:
                session.stall_seen = False
            session.wake()

    def _wait_until_stalled(self) -> None:
        self._cond.wait_for(lambda: all(s.stall_seen or s.dead for s in self._streams), timeout=5.0)

    def fail_next_connects(self, *responses: Answer) -> None:
        """Answer the next stream connects with these ``(status, body, headers)`` (see ``x_401`` & co.);
        body may be a dict (JSON), str/bytes (sent as is) or None. Rate-limit headers are added if absent."""
        with self._cond:
            self._failures.extend(responses)
            self._changed()

    def set_oembed_html(self, post_id: str, html: str) -> None:
        """oEmbed answers this ``html`` for the post (e.g. hostile markup), even if the post is unknown."""
        with self._cond:
            self._oembed_html[str(post_id)] = html
            self._changed()

    # ---- observation

    @property
    def rules(self) -> dict[str, dict[str, Any]]:
        """A copy of the rules: id -> ``{"id", "value", "tag"?}``."""
        with self._cond:
            return copy.deepcopy(self._rules)

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

    def _queue(self, session: StreamSession, outgoing: Outgoing) -> None:
        if self._batch_depth:
            self._batched.append(_Batched(session, outgoing))
        else:
            session.enqueue(outgoing)

    def _store_rule(self, value: str, tag: str | None, rule_id: str | None = None) -> str:
        rule_id = rule_id or next_snowflake()
        rule: dict[str, Any] = {"id": rule_id, "value": value}
        if tag is not None:
            rule["tag"] = tag
        self._rules[rule_id] = rule
        try:
            self._rule_trees[rule_id] = x_rules.parse(value)
        except x_rules.RuleSyntaxError:
            self._rule_trees[rule_id] = None
        self._rule_active_at[rule_id] = time.monotonic() + self.rule_propagation_delay
        return rule_id

    def _document(self, post: dict[str, Any], with_quoted: bool) -> x_rules.Document:
        registry = self._registry
        author = registry.users.get(str(post.get("author_id")))
        keys = post.get("attachments", {}).get("media_keys", [])
        media = [registry.media[key] for key in keys if key in registry.media]
        referenced = {
            str(ref["id"]): registry.posts[str(ref["id"])]
            for ref in post.get("referenced_tweets", [])
            if str(ref.get("id")) in registry.posts
        }
        quoted = [
            referenced[str(ref["id"])].get("text", "")
            for ref in post.get("referenced_tweets", [])
            if with_quoted and ref.get("type") == "quoted" and str(ref["id"]) in referenced
        ]
        return x_rules.Document(post, author, registry.users, media, quoted, referenced)

    def _matching_rules(self, post: dict[str, Any]) -> list[dict[str, Any]]:
        doc = self._document(post, with_quoted=True)
        now = time.monotonic()
        matching = []
        for rule_id, rule in self._rules.items():
            tree = self._rule_trees.get(rule_id)
            if tree is not None and self._rule_active_at.get(rule_id, 0) <= now and x_rules.matches(tree, doc):
                entry: dict[str, Any] = {"id": rule_id}
                if "tag" in rule:
                    entry["tag"] = rule["tag"]
                matching.append(entry)
        return matching

    def _stream_message(self, post: dict[str, Any], fields: Fields, matching: list[dict[str, Any]]) -> dict[str, Any]:
        message: dict[str, Any] = {"data": render_post(post, fields)}
        includes = build_includes([post], fields, self._registry)
        if includes:
            message["includes"] = includes
        message["matching_rules"] = matching
        return message

    def _on_written(self, items: list[Outgoing], keepalive: bool) -> None:
        with self._cond:
            if keepalive:
                self._counts["keepalives_sent"] += 1
            for item in items:
                if item.message is not None:
                    self._delivered.append(item.message)
                    if "data" in item.message:
                        self._counts["messages_sent"] += 1
                        self.usage.count(1)
            self._changed()

    # ---- HTTP

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

    def _stream(
        self, handler: FakeHandler, query: Mapping[str, list[str]], rate_headers: dict[str, str], accept_encoding: str
    ) -> None:
        fields = parse_fields(query)
        gzipped = self.gzip_stream and "gzip" in accept_encoding.lower()
        with self._cond:
            if not self._rules:
                answer: Answer | None = (
                    409,
                    connection_exception("RuleConfigurationIssue", NO_RULES_DETAIL, self.problems),
                    {},
                )
            # A stream X itself is ending (drop, disconnect) no longer counts: X knows it closed it. A client
            # that vanished still counts until noticed (see ``hold_dead_connections``).
            elif self._open_connections() >= self.max_connections:
                body = connection_exception("TooManyConnections", TOO_MANY_CONNECTIONS_DETAIL, self.problems)
                answer = (429, body, {})
            else:
                answer = None
                session = StreamSession(
                    sock=handler.connection,
                    write=handler.wfile.write,
                    fields=fields,
                    rng=random.Random(self._rng.random()),
                    lock=self._cond,
                    keepalive_interval=self.keepalive_interval,
                    on_written=self._on_written,
                    compressor=zlib.compressobj(wbits=31) if gzipped else None,
                    stalled=self.silent,
                )
                self._stream_opened(session)
                self._counts["max_concurrent_streams"] = max(
                    self._counts["max_concurrent_streams"], self._open_connections()
                )
        if answer is not None:
            send_answer(handler, answer[0], answer[1], rate_headers)
            return
        handler.close_connection = True
        try:
            handler.connection.settimeout(self.slow_reader_timeout)
            handler.send_response(200)
            handler.send_header("content-type", "application/json; charset=utf-8")
            handler.send_header("transfer-encoding", "chunked")
            if gzipped:
                handler.send_header("content-encoding", "gzip")
            handler.send_header("cache-control", "no-cache, no-store, max-age=0")
            for name, value in rate_headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            ended_by = session.run()
        except OSError:
            ended_by = "client-gone"
        finally:
            session.close()
            with self._cond:
                session.dead = True
                session.pending = []
                self._changed()
        if ended_by == "client-gone" and self.hold_dead_connections > 0:
            self._stopping.wait(self.hold_dead_connections)
        self._stream_closed(session)

    def _open_connections(self) -> int:
        """Streams that count against the connection limit (and ``max_concurrent_streams``): those X is
        ending (drop, disconnect) no longer do, even while their handler thread is still winding down."""
        return sum(1 for s in self._streams if s.control is None or s.control == "kill")


@dataclass
class _Batched:
    session: StreamSession
    outgoing: Outgoing
