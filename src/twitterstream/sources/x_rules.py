"""Keeping X's stream rules in step with the watched queries: one reconcile, desired set vs what X holds.

Rules we create carry a ``twitterstream:`` tag; rules without it belong to someone else and are left alone
(but a rule of the app with the same value as a watched query delivers the same posts: it is routed too).
A query's rule is the query as X reads it: ``source:`` is ours, decided before anything is sent (a query that
leaves X out has no rule at all; ``(source:x #a) OR #b`` is the rule ``#a OR #b``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from twitterstream.sources.x_client import XClient
from twitterstream.sources.x_payload import StreamMessage

if TYPE_CHECKING:
    from twitterstream.query import Query

log = logging.getLogger(__name__)

TAG_PREFIX = "twitterstream:"
#: Filtered stream limits on pay-per-use (X's filtered stream docs): rules per app; rules per add request we send.
RULE_CAP = 1000
ADD_BATCH = 100


def rule_tag(rule: str) -> str:
    """The tag of a rule we create (a query's key, unless its ``source:`` filter made the rule shorter):
    recognisable as ours, stable across restarts."""
    return TAG_PREFIX + hashlib.sha256(rule.encode()).hexdigest()[:16]


@dataclass
class Reconciled:
    """What one reconcile leaves: how to route, and what is wrong with which query."""

    routes: dict[str, tuple[str, ...]]  # X rule id -> the query keys it serves
    problems: dict[str, str]  # query key -> problem in words
    refused: dict[str, str]  # rule -> why X refused it as invalid (not sent again while watched)


def rules_of(desired: Mapping[str, Query]) -> dict[str, tuple[str, ...]]:
    """The rules X is to hold (each query's own key, ``source:`` decided for X), and the query keys each serves.

    Queries that read the same on X (``#a`` and ``#a -source:bluesky``) share one rule: X refuses duplicates.
    """
    serves: dict[str, list[str]] = {}
    for key, query in desired.items():
        serves.setdefault(query.key, []).append(key)
    return {rule: tuple(keys) for rule, keys in serves.items()}


def route(message: StreamMessage, routes: Mapping[str, tuple[str, ...]], desired: Mapping[str, Query]) -> list[str]:
    """The query keys of a stream message, by its ``matching_rules`` (``routes``: rule id -> keys; a rule created
    since the last reconcile is found by its tag)."""
    keys = [key for rule_id in message.rule_ids if rule_id in routes for key in routes[rule_id]]
    if any(rule_id not in routes for rule_id in message.rule_ids):
        tags = set(message.rule_tags)
        keys += [key for key, query in desired.items() if rule_tag(query.key) in tags]
    return list(dict.fromkeys(keys))


def reconcile_rules(client: XClient, desired: Mapping[str, Query], refused: Mapping[str, str]) -> Reconciled:
    """Delete our rules no longer watched, add the missing ones (within X's cap), and say how to route.

    ``desired`` maps each watched query key to the query as X reads it (``networks.on_source(query, "x")``).
    Rules in ``refused`` are not sent again (rule requests are rate limited, and X's answer will not change).
    """
    serves = rules_of(desired)
    wanted = {rule_tag(rule): rule for rule in serves}
    rules = client.get_rules()
    ours = {str(r.get("tag")): r for r in rules if str(r.get("tag") or "").startswith(TAG_PREFIX)}
    stale = [str(r["id"]) for tag, r in ours.items() if tag not in wanted]
    if stale:
        log.info("deleting %d rule(s) no longer watched", len(stale))
        client.delete_rules(stale)
    routes = {str(r["id"]): wanted[tag] for tag, r in ours.items() if tag in wanted}  # rule id -> rule
    routes.update({str(r["id"]): r["value"] for r in rules if r.get("value") in serves})
    still_refused = {rule: reason for rule, reason in refused.items() if rule in serves}
    problems: dict[str, str] = dict(still_refused)
    missing = [
        {"value": rule, "tag": tag} for tag, rule in wanted.items() if tag not in ours and rule not in still_refused
    ]
    room = max(RULE_CAP - (len(rules) - len(stale)), 0)
    for rule in missing[room:]:
        problems[rule["value"]] = (
            f"X's limit of {RULE_CAP} stream rules is reached: this query cannot be watched until others expire"
        )
    missing = missing[:room]
    for start in range(0, len(missing), ADD_BATCH):
        batch = missing[start : start + ADD_BATCH]
        while batch:
            created, rejected = client.add_rules(batch)
            handled: set[str] = set()
            for created_rule in created:
                value = wanted.get(str(created_rule.get("tag")), str(created_rule.get("value")))
                handled.add(value)
                if value in serves:
                    routes[str(created_rule["id"])] = value
            for rejection in rejected:
                handled.add(rejection.value)
                if rejection.kind == "duplicate" and rejection.existing_id:
                    routes[rejection.existing_id] = rejection.value
                else:
                    problems[rejection.value] = f"X rejected this query: {rejection.reason}"
                    if rejection.kind == "invalid":
                        still_refused[rejection.value] = problems[rejection.value]
            # X creates none of a request's rules when one is invalid: send the others again without it.
            rest = [rule for rule in batch if rule["value"] not in handled]
            batch = rest if rejected and len(rest) < len(batch) else []
    return Reconciled(
        {rule_id: serves[rule] for rule_id, rule in routes.items() if rule in serves},
        {key: problem for rule, problem in problems.items() for key in serves.get(rule, ())},
        still_refused,
    )
