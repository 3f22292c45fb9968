"""What the fake X answers when it says no: X's error bodies, the ``Answer`` every endpoint returns, and ready-made
refusals for tests (``x_401``, ``x_429_too_many_connections`` ...).

Error bodies are X's documented/recorded ones (x-api.md, X's docs, and captures quoted in public issues):

- 401 ``{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}``;
- 429 ``{"title":"Too Many Requests","type":"about:blank","status":429,"detail":"Too Many Requests"}``;
- 409 / 429 ``ConnectionException``, ``connection_issue`` ``RuleConfigurationIssue`` / ``TooManyConnections``;
- 400 ``Invalid Request`` with ``errors: [{"parameters": {...}, "message": ...}]``.

The ``type`` URIs use ``https://api.x.com/2/problems/`` by default (the current docs and OpenAPI spec);
captures from before the rename say ``https://api.twitter.com/2/problems/``, so the host is a setting of the
fake.
"""

from __future__ import annotations

import time
from typing import Any

DEFAULT_PROBLEMS = "https://api.x.com/2/problems/"

#: ``(status, body, extra headers)``: a body that is a dict is sent as JSON, str/bytes as is, None as empty.
Answer = tuple[int, "dict[str, Any] | str | bytes | None", dict[str, str]]


class InvalidRequest(Exception):
    """A 400 Invalid Request; ``errors`` are X's ``{"parameters", "message"}`` entries."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "invalid request")
        self.errors = errors


def param_error(name: str, values: list[str], message: str) -> dict[str, Any]:
    """One entry of an Invalid Request's ``errors``."""
    return {"parameters": {name: values}, "message": message}


def about_blank(status: int, title: str) -> dict[str, Any]:
    """X's generic problem body (``type: about:blank``), e.g. for 401, 429, 5xx."""
    return {"title": title, "type": "about:blank", "status": status, "detail": title}


def invalid_request(errors: list[dict[str, Any]], problems: str = DEFAULT_PROBLEMS) -> dict[str, Any]:
    """X's 400 Invalid Request body."""
    return {
        "errors": errors,
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": problems + "invalid-request",
    }


def connection_exception(issue: str, detail: str, problems: str = DEFAULT_PROBLEMS) -> dict[str, Any]:
    """X's streaming ``ConnectionException`` body."""
    return {
        "title": "ConnectionException",
        "detail": detail,
        "connection_issue": issue,
        "type": problems + "streaming-connection",
    }


NO_RULES_DETAIL = (
    "You must define rules using the POST /2/tweets/search/stream/rules endpoint before connecting to filtered stream."
)
TOO_MANY_CONNECTIONS_DETAIL = "This stream is currently at the maximum allowed connection limit."

DISCONNECT_DETAILS = {
    "OperationalDisconnect": "This stream has been disconnected for operational reasons.",
    "UpstreamOperationalDisconnect": "This stream has been disconnected upstream for operational reasons.",
    "ForceDisconnect": "Force closing this stream connection.",
    "UpstreamUncleanDisconnect": "This stream had an unclean disconnect upstream.",
    "SlowReader": "This stream has been disconnected because your client was unable to keep up with us.",
    "InternalError": "This stream has been disconnected due to an internal error.",
    "ClientApplicationStateDegraded": (
        "This stream has been disconnected because your client application is in a degraded state."
    ),
    "InvalidRules": "This stream has been disconnected because your rules are invalid.",
}


def operational_disconnect_message(disconnect_type: str, problems: str = DEFAULT_PROBLEMS) -> dict[str, Any]:
    """The in-stream ``errors`` message X sends before closing a stream."""
    detail = DISCONNECT_DETAILS.get(disconnect_type, "This stream has been disconnected.")
    return {
        "errors": [
            {
                "title": "operational-disconnect",
                "disconnect_type": disconnect_type,
                "detail": detail,
                "type": problems + "operational-disconnect",
            }
        ]
    }


def x_401() -> Answer:
    """A stream connect refused for a bad token."""
    return 401, about_blank(401, "Unauthorized"), {}


def x_409_no_rules(problems: str = DEFAULT_PROBLEMS) -> Answer:
    """A stream connect refused because the app has no rules."""
    return 409, connection_exception("RuleConfigurationIssue", NO_RULES_DETAIL, problems), {}


def x_429_too_many_connections(
    reset_in: float = 600.0, remaining: int = 48, limit: int = 50, problems: str = DEFAULT_PROBLEMS
) -> Answer:
    """X's TooManyConnections 429: requests remain, the reset is minutes away (x-api.md)."""
    headers = {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(int(time.time() + reset_in)),
    }
    body = connection_exception("TooManyConnections", TOO_MANY_CONNECTIONS_DETAIL, problems)
    return 429, body, headers


def x_429_too_many_requests(reset_in: float = 600.0, limit: int = 50) -> Answer:
    """A rate-limit 429 with ``x-rate-limit-remaining: 0``."""
    headers = {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(int(time.time() + reset_in)),
    }
    return 429, about_blank(429, "Too Many Requests"), headers


def x_500() -> Answer:
    """An internal error."""
    return 500, about_blank(500, "Internal Server Error"), {}


def x_503() -> Answer:
    """Service unavailable (X overloaded)."""
    return 503, about_blank(503, "Service Unavailable"), {}


def x_502_html() -> Answer:
    """A 502 from a proxy in front of X: an HTML body, not JSON."""
    body = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
    return 502, body, {"content-type": "text/html"}
