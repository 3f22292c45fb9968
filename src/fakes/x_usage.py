"""The fake X's post-read accounting: ``GET /2/usage/tweets`` and a count of the posts it delivered.

X bills each post its filtered stream delivers and each post a recent search returns; ``UsageMeter`` counts
both (``FakeX`` calls ``count``) on top of a starting ``project_usage``, and answers the usage endpoint in the
shape of the OpenAPI spec's ``GetUsageResponse`` (counts are numbers written as strings). Like X's documented
fields, ``usage.fields`` selects the fields; without it the answer carries the project's id, cap, usage and
reset day. The fake does not refuse reads at the cap (X's answer then is undocumented): tests assert that the
client stopped asking.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from .x_http import first_param as _first
from .x_render import Answer, InvalidRequest, param_error

USAGE_PATH = "/2/usage/tweets"
USAGE_FIELDS = (
    "cap_reset_day",
    "daily_client_app_usage",
    "daily_project_usage",
    "project_cap",
    "project_id",
    "project_usage",
)
DEFAULT_FIELDS = ("project_id", "project_cap", "project_usage", "cap_reset_day")


class UsageMeter:
    """A project's monthly post reads at the fake X (thread-safe). Change the knobs at any time."""

    def __init__(
        self,
        project_cap: int = 2_000_000,
        project_usage: int = 0,
        cap_reset_day: int = 1,
        project_id: str = "1488510224548106240",
        client_app_id: str = "28371937",
    ) -> None:
        self.project_cap = project_cap
        self.project_usage = project_usage  # before what this fake delivered
        self.cap_reset_day = cap_reset_day
        self.project_id = project_id
        self.client_app_id = client_app_id
        self._delivered = 0
        self._calls = 0
        self._lock = threading.Lock()

    def set(
        self, *, project_cap: int | None = None, project_usage: int | None = None, cap_reset_day: int | None = None
    ) -> None:
        """Change X's figures (``project_usage`` restarts the count: what was delivered is forgotten)."""
        with self._lock:
            if project_cap is not None:
                self.project_cap = project_cap
            if project_usage is not None:
                self.project_usage = project_usage
                self._delivered = 0
            if cap_reset_day is not None:
                self.cap_reset_day = cap_reset_day

    def count(self, posts: int) -> None:
        """Posts just delivered by a stream or returned by a search."""
        with self._lock:
            self._delivered += posts

    @property
    def posts_delivered(self) -> int:
        """Posts delivered (stream) or returned (search) since the start or the last ``set(project_usage=)``."""
        with self._lock:
            return self._delivered

    @property
    def calls(self) -> int:
        """``GET /2/usage/tweets`` requests answered."""
        with self._lock:
            return self._calls

    def answer(self, query: Mapping[str, list[str]]) -> Answer:
        """The ``GetUsageResponse`` for a request's query parameters, or X's 400."""
        errors: list[dict[str, Any]] = []
        days = 7
        raw_days = _first(query, "days")
        if raw_days is not None:
            if raw_days.strip().isdigit() and 1 <= int(raw_days) <= 90:
                days = int(raw_days)
            else:
                message = f"The `days` query parameter value [{raw_days}] is not between 1 and 90"
                errors.append(param_error("days", [raw_days], message))
        fields: tuple[str, ...] = DEFAULT_FIELDS
        raw_fields = _first(query, "usage.fields")
        if raw_fields is not None:
            asked = tuple(f for f in raw_fields.split(",") if f)
            unknown = [f for f in asked if f not in USAGE_FIELDS]
            if unknown or not asked:
                message = (
                    f"The `usage.fields` query parameter value [{','.join(unknown) or raw_fields}] is not one of "
                    f"[{','.join(USAGE_FIELDS)}]"
                )
                errors.append(param_error("usage.fields", [raw_fields], message))
            fields = asked
        if errors:
            raise InvalidRequest(errors)
        with self._lock:
            self._calls += 1
            usage = self.project_usage + self._delivered
            today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            daily = [
                {"date": (today - timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z"), "usage": "0"}
                for n in range(days - 1, 0, -1)
            ] + [{"date": today.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "usage": str(usage)}]
            everything: dict[str, Any] = {
                "project_id": self.project_id,
                "project_cap": str(self.project_cap),
                "project_usage": str(usage),
                "cap_reset_day": self.cap_reset_day,
                "daily_project_usage": {"project_id": self.project_id, "usage": daily},
                "daily_client_app_usage": [
                    {"client_app_id": self.client_app_id, "usage_result_count": len(daily), "usage": daily}
                ],
            }
        return 200, {"data": {name: everything[name] for name in fields}}, {}
