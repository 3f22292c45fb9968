"""HTTP calls to the X API v2: stream rules, the filtered stream, recent search, usage.

Only the calls and the mapping of X's error answers onto the :mod:`sources.base` error tree live here;
the loops that use them are in :mod:`sources.x`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson

from twitterstream.sources.errors import AuthRejected, NoRules, RateLimited, ServiceError, SourceNotConfigured
from twitterstream.sources.network import interrupt_response
from twitterstream.sources.x_payload import EXPANSIONS, MEDIA_FIELDS, TWEET_FIELDS, USER_FIELDS

RULES_PATH = "/2/tweets/search/stream/rules"
STREAM_PATH = "/2/tweets/search/stream"
SEARCH_PATH = "/2/tweets/search/recent"
USAGE_PATH = "/2/usage/tweets"
#: The usage fields the cost guard reads (X's default answer may leave some out).
USAGE_FIELDS = "project_usage,project_cap,cap_reset_day"
FIELD_PARAMS = {
    "tweet.fields": TWEET_FIELDS,
    "expansions": EXPANSIONS,
    "user.fields": USER_FIELDS,
    "media.fields": MEDIA_FIELDS,
}
#: X limits a recent-search query to 512 characters on self-serve plans.
SEARCH_QUERY_LIMIT = 512
#: Pages of stream rules read at most (X pages by up to 1,000 and allows 1,000 rules on pay-per-use).
RULES_MAX_PAGES = 10
CAP_REASON = "X's rule limit is reached: no more queries can be watched now"


class RuleRejected(Exception):
    """X refused to add a rule; ``reason`` is X's own explanation."""

    def __init__(self, value: str, reason: str, kind: str, existing_id: str | None = None):
        super().__init__(reason)
        self.value = value
        self.reason = reason
        self.kind = kind  # "invalid", "duplicate", "cap"
        self.existing_id = existing_id  # for a duplicate: the id of the rule that holds the value


class XClient:
    """A thin, typed client for the endpoints TwitterStream uses. Thread-safe (one httpx.Client)."""

    def __init__(self, base_url: str, bearer_token: str | None, read_timeout: float = 21.0) -> None:
        if not bearer_token:
            raise SourceNotConfigured(
                "X_BEARER_TOKEN is not set: create an app at developer.x.com, copy its bearer token and "
                "set X_BEARER_TOKEN=... (environment or .env), then restart. Or set TWITTERSTREAM_SOURCE=bluesky."
            )
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {bearer_token}", "User-Agent": "TwitterStream/0.1"},
            timeout=httpx.Timeout(10.0),
        )
        self._stream_timeout = httpx.Timeout(10.0, read=read_timeout)

    def close(self) -> None:
        self._http.close()

    # -- rules ------------------------------------------------------------------------------------
    def get_rules(self) -> list[dict[str, Any]]:
        """Every rule the app has at X (ours and others'), following ``meta.next_token`` across pages."""
        rules: list[dict[str, Any]] = []
        params: dict[str, str] = {}
        for _ in range(RULES_MAX_PAGES):
            answer = self._call("GET", RULES_PATH, params=params)
            rules += [r for r in answer.get("data") or () if isinstance(r, dict)]
            token = (answer.get("meta") or {}).get("next_token")
            if not token:
                break
            params = {"pagination_token": str(token)}
        return rules

    def add_rules(self, rules: list[dict[str, str]]) -> tuple[list[dict[str, Any]], list[RuleRejected]]:
        """Add ``[{"value", "tag"}]``; returns the created rules and the ones X rejected (with X's reason)."""
        response = self._http.post(RULES_PATH, json={"add": rules})
        answer = _json(response)
        errors = [e for e in answer.get("errors") or () if isinstance(e, dict)]
        rejected = [_rejection(e) for e in errors if "value" in e]
        created = [r for r in answer.get("data") or () if isinstance(r, dict)]
        if any(_is_rule_cap(e) for e in errors if "value" not in e):
            # X's rule-cap error names no rule: every rule of the request that was not created hit the cap.
            done = {str(r.get("value")) for r in created} | {r.value for r in rejected}
            rejected += [RuleRejected(r["value"], CAP_REASON, "cap") for r in rules if r["value"] not in done]
        # X answers 400 when every rule of the request was rejected: that is an answer, not a failure.
        if response.status_code >= 400 and not (response.status_code == 400 and rejected):
            raise_for_answer(response)
        return created, rejected

    def delete_rules(self, ids: list[str]) -> None:
        if ids:
            self._call("POST", RULES_PATH, json={"delete": {"ids": ids}})

    # -- search -----------------------------------------------------------------------------------
    def search_recent(
        self, query: str, max_results: int = 10, since_id: str | None = None, next_token: str | None = None
    ) -> dict[str, Any]:
        """One page of recent search, newest first (the raw answer; decode with ``posts_from_page``).

        ``next_token`` (the previous page's ``meta.next_token``) asks for the next, older page."""
        params = {"query": query, "max_results": str(min(max(max_results, 10), 100)), **FIELD_PARAMS}
        if since_id:
            params["since_id"] = since_id
        if next_token:
            params["next_token"] = next_token
        return self._call("GET", SEARCH_PATH, params=params)

    # -- usage ------------------------------------------------------------------------------------
    def get_usage(self) -> dict[str, Any]:
        """The project's post reads this month and its cap (the raw answer; read it with ``parse_usage``)."""
        return self._call("GET", USAGE_PATH, params={"days": "1", "usage.fields": USAGE_FIELDS})

    # -- stream -----------------------------------------------------------------------------------
    @contextmanager
    def open_stream(self) -> Iterator[StreamConnection]:
        """Connect to the filtered stream; raises the mapped error unless X answers 200."""
        request = self._http.build_request("GET", STREAM_PATH, params=FIELD_PARAMS, timeout=self._stream_timeout)
        response = self._http.send(request, stream=True)
        try:
            if response.status_code != 200:
                response.read()
                raise_for_answer(response)
            yield StreamConnection(response)
        finally:
            response.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise_for_answer(response)
        return _json(response)


class StreamConnection:
    """An open filtered-stream response: iterate its raw chunks, or cut it from another thread."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response

    def chunks(self) -> Iterator[bytes]:
        """The body as it arrives, decoded if X compressed it (httpx asks for gzip)."""
        return self.response.iter_bytes()

    def interrupt(self) -> None:
        """Wake a reader blocked on this connection, from another thread."""
        interrupt_response(self.response)


def raise_for_answer(response: httpx.Response) -> None:
    """Turn an X error answer into the matching :class:`SourceError`."""
    body = _json(response)
    detail = str(body.get("detail") or body.get("title") or response.reason_phrase or "")
    status = response.status_code
    if status in (401, 403):
        raise AuthRejected(f"X refused the bearer token ({status} {detail}). Set X_BEARER_TOKEN and restart.")
    if status == 429:
        headers = response.headers
        retry_at = None
        if headers.get("x-rate-limit-remaining") == "0" and headers.get("x-rate-limit-reset", "").isdigit():
            retry_at = float(headers["x-rate-limit-reset"])
        too_many = body.get("connection_issue") == "TooManyConnections"
        reason = "another connection to the stream is still open at X" if too_many else "rate limited"
        raise RateLimited(f"X answered 429: {reason}", retry_at=retry_at, too_many_connections=too_many)
    if status == 409:
        raise NoRules(f"X refused the stream: {detail or 'no rules'}")
    raise ServiceError(f"X answered {status}: {detail}", status)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def _rejection(error: dict[str, Any]) -> RuleRejected:
    kind_url = str(error.get("type", ""))
    value = str(error.get("value", ""))
    if kind_url.endswith("duplicate-rules") or error.get("title") == "DuplicateRule":
        existing = error.get("id")
        return RuleRejected(value, "X already holds this rule", "duplicate", str(existing) if existing else None)
    if _is_rule_cap(error):
        return RuleRejected(value, CAP_REASON, "cap")
    details = error.get("details") or [error.get("detail") or error.get("title") or "rejected"]
    return RuleRejected(value, "; ".join(str(d) for d in details), "invalid")


def _is_rule_cap(error: dict[str, Any]) -> bool:
    return str(error.get("type", "")).endswith("rule-cap")
