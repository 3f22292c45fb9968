"""Who is the operator: the password (``TWITTERSTREAM_ADMIN_PASSWORD``), the session, failed-login limits.

A script sends ``Authorization: Bearer <password>``; a browser logs in on /admin and carries a signed
session cookie (HttpOnly, SameSite=Lax, Secure when the request came over TLS) that names a digest of the
password, so changing the password ends every session. Passwords are compared in constant time and never
logged, stored or shown; a client that fails too often is refused for a while.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import defaultdict, deque

from flask import Flask, current_app, request, session

from twitterstream.web.context import get_settings

#: Failed logins (form or bearer) a client may make per window before it must wait.
MAX_FAILURES = 5
FAILURE_WINDOW = 15 * 60.0
_SESSION_KEY = "operator"


class FailedLogins:
    """Failed attempts per client in this process: past ``MAX_FAILURES`` in the window, it waits."""

    def __init__(self, limit: int = MAX_FAILURES, window: float = FAILURE_WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again (0: now)."""
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get(client)
            if not failures:
                return 0
            while failures and failures[0] <= now - self.window:
                failures.popleft()
            if len(failures) < self.limit:
                return 0
            return max(int(failures[0] + self.window - now) + 1, 1)

    def failed(self, client: str) -> None:
        with self._lock:
            self._failures[client].append(time.monotonic())
            if len(self._failures) > 10_000:  # a flood of clients: forget the oldest rather than grow forever
                self._failures.pop(next(iter(self._failures)))

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


def init_operator(app: Flask) -> None:
    """The failed-login counter (the session cookie's flags are the app factory's: HttpOnly, SameSite=Lax,
    Secure over HTTPS)."""
    app.extensions["failed_logins"] = FailedLogins()


def failed_logins() -> FailedLogins:
    limiter: FailedLogins = current_app.extensions["failed_logins"]
    return limiter


def enabled() -> bool:
    """Whether operator features are on (a password is set)."""
    return get_settings().admin_password is not None


def client_address() -> str:
    return request.remote_addr or "unknown"


def password_matches(given: str) -> bool:
    """Constant-time comparison with the configured password (False when none is set)."""
    password = get_settings().admin_password
    if password is None:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), password.reveal().encode("utf-8"))


def _session_token() -> str:
    password = get_settings().admin_password
    key = current_app.config["SECRET_KEY"]
    raw = password.reveal() if password else ""
    return hmac.new(str(key).encode(), b"operator:" + raw.encode(), hashlib.sha256).hexdigest()


def log_in() -> None:
    session.clear()
    session[_SESSION_KEY] = _session_token()


def log_out() -> None:
    session.pop(_SESSION_KEY, None)


def has_session() -> bool:
    token = session.get(_SESSION_KEY)
    return enabled() and isinstance(token, str) and hmac.compare_digest(token, _session_token())


def bearer() -> str | None:
    """The bearer token of the request, if it sent one."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
