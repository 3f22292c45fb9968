"""Keeping X's stream rules in step with the watched queries: one reconcile, desired set vs what X holds.

Rules we create carry a ``twitterstream:`` tag; rules without it belong to someone else and are left alone
(but a rule of the app with the same value as a watched query delivers the same posts: it is routed too).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from twitterstream.sources.x_client import XClient

if TYPE_CHECKING:
    from twitterstream.query import Query

log = logging.getLogger(__name__)

TAG_PREFIX = "twitterstream:"
#: Filtered stream limits on pay-per-use (X's filtered stream docs): rules per app; rules per add request we send.
RULE_CAP = 1000
ADD_BATCH = 100


def rule_tag(query_key: str) -> str:
    """The tag of the rule we create for a query: recognisable as ours, stable across restarts."""
    return TAG_PREFIX + hashlib.sha256(query_key.encode()).hexdigest()[:16]


@dataclass
class Reconciled:
    """What one reconcile leaves: how to route, and what is wrong with which query."""

    routes: dict[str, str]  # X rule id -> query key
    problems: dict[str, str]  # query key -> problem in words
    refused: dict[str, str]  # query key -> why X refused it as invalid (not sent again while watched)


def reconcile_rules(client: XClient, desired: Mapping[str, Query], refused: Mapping[str, str]) -> Reconciled:
    """Delete our rules no longer watched, add the missing ones (within X's cap), and say how to route.

    Queries in ``refused`` are not sent again (rule requests are rate limited, and X's answer will not change).
    """
    wanted = {rule_tag(key): key for key in desired}
    rules = client.get_rules()
    ours = {str(r.get("tag")): r for r in rules if str(r.get("tag") or "").startswith(TAG_PREFIX)}
    stale = [str(r["id"]) for tag, r in ours.items() if tag not in wanted]
    if stale:
        log.info("deleting %d rule(s) no longer watched", len(stale))
        client.delete_rules(stale)
    routes = {str(r["id"]): wanted[tag] for tag, r in ours.items() if tag in wanted}
    routes.update({str(r["id"]): r["value"] for r in rules if r.get("value") in desired})
    still_refused = {key: reason for key, reason in refused.items() if key in desired}
    problems: dict[str, str] = dict(still_refused)
    missing = [
        {"value": key, "tag": tag} for tag, key in wanted.items() if tag not in ours and key not in still_refused
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
            for rule in created:
                key = wanted.get(str(rule.get("tag")), str(rule.get("value")))
                handled.add(key)
                if key in desired:
                    routes[str(rule["id"])] = key
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
    return Reconciled(routes, problems, still_refused)
