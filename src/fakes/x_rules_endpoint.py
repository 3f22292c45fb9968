"""The fake X's stream rules: ``GET`` and ``POST /2/tweets/search/stream/rules``, the rules it keeps, and which of
them a post matches.

- ``GET`` (``ids``, ``max_results``, ``pagination_token``): the rules in creation order, paged;
- ``POST`` (``add``/``delete``, ``dry_run``, ``delete_all``): 201 when at least one rule was created, otherwise
  200 (the docs say 201 for a successful add, the OpenAPI spec lists only 200; both are 2xx with ``errors`` in
  the body, never a 4xx); one syntactically invalid rule in an add request means none of that request's rules
  are created; a duplicate only skips itself; going over the rule cap creates nothing; a malformed body is
  X's 400;
- rules take effect at once unless ``rule_propagation_delay`` is set (X: "within about 20 seconds").

Rule validation and matching are the independent model of ``x_rules``.
"""

from __future__ import annotations

import copy
import json
import random
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from . import x_rules
from .server import FakeHTTPService
from .x_errors import Answer, InvalidRequest, invalid_request, param_error
from .x_http import ID_PATTERN, first_param, int_param, page_token
from .x_posts import iso_time, next_snowflake
from .x_render import Registry


class XRulesEndpoint(FakeHTTPService):
    """The rules endpoints and rule store of ``FakeX`` (its settings live there)."""

    _rules: dict[str, dict[str, Any]]
    _rule_trees: dict[str, Any]
    _rule_active_at: dict[str, float]
    _registry: Registry
    _next_tokens: dict[str, tuple[str, str]]
    _rng: random.Random
    problems: str
    rule_cap: int
    max_rule_length: int
    rules_page_size: int
    rule_propagation_delay: float

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

    @property
    def rules(self) -> dict[str, dict[str, Any]]:
        """A copy of the rules: id -> ``{"id", "value", "tag"?}``."""
        with self._cond:
            return copy.deepcopy(self._rules)

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

    def _matching_rules(self, post: dict[str, Any]) -> list[dict[str, Any]]:
        """``matching_rules`` for a post: the rules in effect that match it (called under the lock)."""
        doc = x_rules.document_for(post, self._registry, with_quoted=True)
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

    def _get_rules(self, query: Mapping[str, list[str]]) -> Answer:
        ids = [v for raw in query.get("ids", []) for v in raw.split(",") if v]
        bad = [v for v in ids if not ID_PATTERN.fullmatch(v)]
        if bad:
            raise InvalidRequest([param_error("ids", bad, f"The `ids` query parameter value [{bad[0]}] is not valid")])
        max_results = int_param(query, "max_results", self.rules_page_size, 1, 1000)
        start = 0
        token = first_param(query, "pagination_token")
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
            with self._cond:
                meta["next_token"] = page_token(
                    self._next_tokens, self._rng, "rules", str(start + max_results), length=16
                )
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
