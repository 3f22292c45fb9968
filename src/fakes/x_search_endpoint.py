"""The fake X's recent search: ``GET /2/tweets/search/recent`` over the posts it was given.

Newest first; ``query`` in the rule language (``x_rules``, at most ``max_query_length`` characters),
``max_results`` 10 to 100, ``since_id``/``until_id`` and ``start_time``/``end_time`` (not both of a pair),
``next_token``/``pagination_token`` paging; only the last ``recent_window`` (7 days at X). X's 400 for anything
invalid, every problem listed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from . import x_rules
from .server import FakeHTTPService
from .x_errors import Answer, InvalidRequest, param_error
from .x_http import ID_PATTERN, first_param, int_param, page_token
from .x_posts import parse_time, snowflake_time
from .x_render import Registry, build_includes, parse_fields, render_post


class XSearchEndpoint(FakeHTTPService):
    """Recent search over ``FakeX``'s posts (its settings and corpus live there)."""

    _corpus: dict[str, dict[str, Any]]
    _registry: Registry
    _next_tokens: dict[str, tuple[str, str]]
    _rng: random.Random
    max_query_length: int
    recent_window: timedelta | None

    def _search(self, query: Mapping[str, list[str]]) -> Answer:
        errors: list[dict[str, Any]] = []
        text = (query.get("query") or [""])[0]
        if not text.strip():
            errors.append(param_error("query", [], "The `query` query parameter can not be empty"))
        elif len(text) > self.max_query_length:
            message = (
                f"The `query` query parameter value [{text}] is not valid: its length {len(text)} "
                f"exceeds the maximum of {self.max_query_length} characters"
            )
            errors.append(param_error("query", [text], message))
        max_results = 10
        try:
            max_results = int_param(query, "max_results", 10, 10, 100)
        except InvalidRequest as error:
            errors += error.errors
        bounds: dict[str, str] = {}
        for name in ("since_id", "until_id"):
            value = first_param(query, name)
            if value is not None:
                if ID_PATTERN.fullmatch(value):
                    bounds[name] = value
                else:
                    errors.append(
                        param_error(name, [value], f"The `{name}` query parameter value [{value}] is not valid")
                    )
        times: dict[str, datetime] = {}
        for name in ("start_time", "end_time"):
            value = first_param(query, name)
            if value is not None:
                try:
                    times[name] = parse_time(value)
                except ValueError:
                    message = f"The `{name}` query parameter value [{value}] is not a valid RFC3339 date-time"
                    errors.append(param_error(name, [value], message))
        for first, second in (
            ("start_time", "since_id"),
            ("end_time", "until_id"),
            ("next_token", "pagination_token"),
        ):
            if query.get(first) and query.get(second):
                errors.append(
                    {
                        "parameters": {first: query[first], second: query[second]},
                        "message": f"At most one of `{first}`, `{second}` may be provided",
                    }
                )
        token = first_param(query, "next_token") or first_param(query, "pagination_token")
        cursor: str | None = None
        if token is not None:
            with self._cond:
                saved = self._next_tokens.get(token)
            if saved is None or saved[0] != "search:" + text:
                errors.append(
                    param_error(
                        "next_token",
                        [token],
                        f"The `next_token` query parameter value [{token}] is not valid",
                    )
                )
            else:
                cursor = saved[1]
        try:
            fields = parse_fields(query, search=True)
        except InvalidRequest as error:
            errors += error.errors
        if errors:
            raise InvalidRequest(errors)
        try:
            tree = x_rules.parse(text)
        except x_rules.RuleSyntaxError as error:
            message = "There were errors processing your request: " + ", ".join(error.details)
            raise InvalidRequest([param_error("query", [text], message)]) from None
        horizon = datetime.now(UTC) - self.recent_window if self.recent_window is not None else None
        with self._cond:
            found = []
            for post in sorted(self._corpus.values(), key=lambda p: id_number(p["id"]), reverse=True):
                number = id_number(post["id"])
                if "since_id" in bounds and number <= int(bounds["since_id"]):
                    continue
                if "until_id" in bounds and number >= int(bounds["until_id"]):
                    continue
                if cursor is not None and number >= id_number(cursor):
                    continue
                created = _created(post)
                if created is not None and (
                    (horizon is not None and created < horizon)
                    or ("start_time" in times and created < times["start_time"])
                    or ("end_time" in times and created >= times["end_time"])
                ):
                    continue
                if x_rules.matches(tree, x_rules.document_for(post, self._registry, with_quoted=False)):
                    found.append(post)
            page = found[:max_results]
            data = [render_post(post, fields) for post in page]
            includes = build_includes(list(page), fields, self._registry)
        if not data:
            return 200, {"meta": {"result_count": 0}}, {}
        meta: dict[str, Any] = {
            "newest_id": data[0]["id"],
            "oldest_id": data[-1]["id"],
            "result_count": len(data),
        }
        if len(found) > max_results:
            with self._cond:
                meta["next_token"] = page_token(self._next_tokens, self._rng, "search:" + text, data[-1]["id"])
        answer: dict[str, Any] = {"data": data}
        if includes:
            answer["includes"] = includes
        answer["meta"] = meta
        return 200, answer, {}


def id_number(post_id: str) -> int:
    """The number a post id sorts by: its leading digits (a hostile id such as ``"5\\n\\nevent: ..."``
    sorts as 5, next to the post it imitates)."""
    digits = re.match(r"[0-9]*", post_id)
    return int(digits.group()) if digits and digits.group() else 0


def _created(post: Mapping[str, Any]) -> datetime | None:
    value = post.get("created_at")
    if isinstance(value, str):
        try:
            return parse_time(value)
        except ValueError:
            return None
    return snowflake_time(post["id"])
