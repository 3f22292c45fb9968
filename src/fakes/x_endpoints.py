"""The request/response endpoints of the fake X: stream rules, recent search, connections, oEmbed.

The base of ``FakeX`` (its state lives there, locking and streams in ``server.FakeHTTPService``); each method
returns an ``Answer`` ``(status, body, extra headers)`` or raises ``InvalidRequest`` for X's 400.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from . import x_rules
from .server import FakeHTTPService
from .x_http import first_param as _first
from .x_posts import iso_time, next_snowflake, parse_time, snowflake_time
from .x_render import (
    Answer,
    InvalidRequest,
    Registry,
    build_includes,
    invalid_request,
    oembed_answer,
    oembed_html,
    param_error,
    parse_fields,
    render_post,
)

ID_PATTERN = re.compile(r"[0-9]{1,19}")
_STATUS_URL = re.compile(r"https?://(?:www\.|mobile\.)?(?:twitter|x)\.com/([^/?#]+)/status(?:es)?/(\d+)")


class Endpoints(FakeHTTPService):
    """Rules, search, connections and oEmbed handlers over ``FakeX``'s state."""

    _rules: dict[str, dict[str, Any]]
    _rule_trees: dict[str, Any]
    _corpus: dict[str, dict[str, Any]]
    _registry: Registry
    _oembed_html: dict[str, str]
    _next_tokens: dict[str, tuple[str, str]]
    _rng: Any
    problems: str
    rule_cap: int
    max_rule_length: int
    max_query_length: int
    rules_page_size: int
    recent_window: timedelta | None

    def _store_rule(self, value: str, tag: str | None, rule_id: str | None = None) -> str:
        raise NotImplementedError

    def _document(self, post: dict[str, Any], with_quoted: bool) -> x_rules.Document:
        raise NotImplementedError

    def _get_rules(self, query: Mapping[str, list[str]]) -> Answer:
        ids = [v for raw in query.get("ids", []) for v in raw.split(",") if v]
        bad = [v for v in ids if not ID_PATTERN.fullmatch(v)]
        if bad:
            raise InvalidRequest([param_error("ids", bad, f"The `ids` query parameter value [{bad[0]}] is not valid")])
        max_results = _int_param(query, "max_results", self.rules_page_size, 1, 1000)
        start = 0
        token = _first(query, "pagination_token")
        if token is not None:
            with self._cond:
                cursor = self._next_tokens.get(token)
            if cursor is None or cursor[0] != "rules":
                message = f"The `pagination_token` query parameter value [{token}] is not valid"
                raise InvalidRequest([param_error("pagination_token", [token], message)])
            start = int(cursor[1])
        with self._cond:
            rules = [copy.deepcopy(r) for r in self._rules.values() if not ids or r["id"] in ids]
        page = rules[start : start + max_results]
        meta: dict[str, Any] = {"sent": iso_time(datetime.now(UTC)), "result_count": len(page)}
        if start + max_results < len(rules):
            meta["next_token"] = self._token("rules", str(start + max_results), length=16)
        return 200, ({"data": page, "meta": meta} if page else {"meta": meta}), {}

    def _post_rules(self, query: Mapping[str, list[str]], body: bytes) -> Answer:
        dry_run = (query.get("dry_run") or ["false"])[0].lower() == "true"
        delete_all = (query.get("delete_all") or ["false"])[0].lower() == "true"
        sent = iso_time(datetime.now(UTC))
        if delete_all and not body.strip():
            request: Any = {}
        else:
            try:
                request = json.loads(body)
            except (ValueError, UnicodeDecodeError) as error:
                raise InvalidRequest(
                    [{"parameters": {}, "message": f"Request body is not valid JSON: {error}"}]
                ) from None
        _check_rules_request(request, delete_all)
        if "add" in request:
            return self._add_rules(request["add"], dry_run, sent)
        with self._cond:
            if delete_all:
                targets = list(self._rules)
                missing: list[str] = []
            elif "ids" in request["delete"]:
                targets = [i for i in request["delete"]["ids"] if i in self._rules]
                missing = [i for i in request["delete"]["ids"] if i not in self._rules]
            else:
                by_value = {r["value"]: r["id"] for r in self._rules.values()}
                targets = [by_value[v] for v in request["delete"]["values"] if v in by_value]
                missing = [v for v in request["delete"]["values"] if v not in by_value]
            if not dry_run:
                for rule_id in targets:
                    self._rules.pop(rule_id, None)
                    self._rule_trees.pop(rule_id, None)
                self._changed()
        answer: dict[str, Any] = {
            "meta": {"sent": sent, "summary": {"deleted": len(targets), "not_deleted": len(missing)}}
        }
        if missing:
            answer["errors"] = [
                invalid_request([{"parameters": {}, "message": "Rule does not exist"}], self.problems) for _ in missing
            ]
        return 200, answer, {}

    def _add_rules(self, additions: list[dict[str, Any]], dry_run: bool, sent: str) -> Answer:
        errors: list[dict[str, Any]] = []
        accepted: list[dict[str, Any]] = []
        invalid = 0
        syntax_error = False
        with self._cond:
            existing = {r["value"]: r["id"] for r in self._rules.values()}
            seen: dict[str, str] = {}
            for item in additions:
                value = item["value"]
                details = x_rules.validate(value, self.max_rule_length)
                if details:
                    invalid += 1
                    syntax_error = True
                    errors.append(
                        {
                            "value": value,
                            "details": details,
                            "title": "UnprocessableEntity",
                            "type": self.problems + "invalid-rules",
                        }
                    )
                elif value in existing or value in seen:
                    invalid += 1
                    errors.append(
                        {
                            "value": value,
                            "id": existing.get(value) or seen[value],
                            "title": "DuplicateRule",
                            "type": self.problems + "duplicate-rules",
                        }
                    )
                else:
                    seen[value] = next_snowflake()
                    accepted.append({"value": value, "tag": item.get("tag"), "id": seen[value]})
            valid = len(accepted)
            over_cap = len(self._rules) + len(accepted) > self.rule_cap
            if over_cap and not syntax_error and accepted:
                errors.append(
                    {
                        "title": "RulesCapExceeded",
                        "detail": "You have exceeded the maximum number of rules.",
                        "type": self.problems + "rule-cap",
                    }
                )
            created = [] if syntax_error or over_cap else accepted
            if not dry_run:
                for rule in created:
                    self._store_rule(rule["value"], rule["tag"], rule["id"])
                self._changed()
        data = []
        for rule in created:
            entry: dict[str, Any] = {"value": rule["value"]}
            if rule["tag"] is not None:
                entry["tag"] = rule["tag"]
            entry["id"] = rule["id"]
            data.append(entry)
        summary = {
            "created": len(created),
            "not_created": len(additions) - len(created),
            "valid": valid,
            "invalid": invalid,
        }
        answer: dict[str, Any] = {}
        if data:
            answer["data"] = data
        if errors:
            answer["errors"] = errors
        answer["meta"] = {"sent": sent, "summary": summary}
        return (201 if created and not dry_run else 200), answer, {}

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
            max_results = _int_param(query, "max_results", 10, 10, 100)
        except InvalidRequest as error:
            errors += error.errors
        bounds: dict[str, str] = {}
        for name in ("since_id", "until_id"):
            value = _first(query, name)
            if value is not None:
                if ID_PATTERN.fullmatch(value):
                    bounds[name] = value
                else:
                    errors.append(
                        param_error(name, [value], f"The `{name}` query parameter value [{value}] is not valid")
                    )
        times: dict[str, datetime] = {}
        for name in ("start_time", "end_time"):
            value = _first(query, name)
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
        token = _first(query, "next_token") or _first(query, "pagination_token")
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
                if x_rules.matches(tree, self._document(post, with_quoted=False)):
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
            meta["next_token"] = self._token("search:" + text, data[-1]["id"])
        answer: dict[str, Any] = {"data": data}
        if includes:
            answer["includes"] = includes
        answer["meta"] = meta
        return 200, answer, {}

    def _token(self, kind: str, cursor: str, length: int = 45) -> str:
        alphabet = "0123456789abcdefghijklmnopqrstuv"
        with self._cond:
            token = "".join(self._rng.choice(alphabet) for _ in range(length))
            self._next_tokens[token] = (kind, cursor)
        return token

    def _kill_connections(self) -> Answer:
        with self._cond:
            live = [s for s in self._streams if not s.dead]
            for session in self._streams:
                session.control = "kill"
                session.dead = True
                session.wake()
            self._changed()
        return 200, {"data": {"successful_kills": len(live), "failed_kills": 0}}, {}

    def _oembed(self, query: Mapping[str, list[str]]) -> Answer:
        params = {name: values[0] for name, values in query.items() if values}
        match = _STATUS_URL.match(params.get("url", ""))
        if match is None:
            return 400 if "url" not in params else 404, b"", {}
        url_username, post_id = match.group(1), match.group(2)
        with self._cond:
            post = copy.deepcopy(self._corpus.get(post_id))
            override = self._oembed_html.get(post_id)
            user = None
            if post is not None:
                user = copy.deepcopy(self._registry.users.get(str(post.get("author_id"))))
        if post is None and override is None:
            return 404, b"", {}
        user = user or {"username": url_username, "name": url_username}
        html = override if override is not None else oembed_html(post or {}, user, params)
        return 200, oembed_answer(post_id, user, html, params), {}


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


def _int_param(query: Mapping[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    raw = _first(query, name)
    if raw is None:
        return default
    if not raw.strip().lstrip("-").isdigit() or not low <= int(raw) <= high:
        raise InvalidRequest(
            [param_error(name, [raw], f"The `{name}` query parameter value [{raw}] is not between {low} and {high}")]
        )
    return int(raw)


def _check_rules_request(request: Any, delete_all: bool) -> None:
    """X's 400 for a malformed rules body (UpdateRulesRequest: exactly one of add/delete, no other keys)."""

    def fail(message: str) -> None:
        raise InvalidRequest([{"parameters": {}, "message": message}])

    if not isinstance(request, dict):
        fail("Request body must be a JSON object")
    if delete_all:
        if request:
            fail("Only one of `add`, `delete` or `delete_all` may be provided")
        return
    unknown = set(request) - {"add", "delete"}
    if unknown:
        fail(f"Unknown field(s) in request body: {', '.join(sorted(unknown))}")
    if ("add" in request) == ("delete" in request):
        fail("Exactly one of `add` or `delete` must be provided")
    if "add" in request:
        additions = request["add"]
        if not isinstance(additions, list) or not additions:
            fail("`add` must be a non-empty array of rules")
        for item in additions:
            if not isinstance(item, dict) or not isinstance(item.get("value"), str):
                fail("Each rule to add must be an object with a string `value`")
            if set(item) - {"value", "tag"}:
                fail(f"Unknown field(s) in rule: {', '.join(sorted(set(item) - {'value', 'tag'}))}")
            if "tag" in item and not isinstance(item["tag"], str):
                fail("A rule's `tag` must be a string")
        return
    delete = request["delete"]
    if not isinstance(delete, dict) or not delete or set(delete) - {"ids", "values"}:
        fail("`delete` must be an object with `ids` or `values`")
    for key, pattern in (("ids", ID_PATTERN), ("values", None)):
        if key in delete:
            items = delete[key]
            if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
                fail(f"`delete.{key}` must be a non-empty array of strings")
            if pattern is not None:
                for item in items:
                    if not pattern.fullmatch(item):
                        fail(f"`{item}` is not a valid rule id")
