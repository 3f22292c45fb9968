"""What a source raises or reports when a service refuses or drops it.

SourceError                  (a TwitterStreamError)
 +-- SourceNotConfigured   a setting is missing (no token): fatal until restarted
 +-- AuthRejected          the service refused our credentials (401/403): fatal, never retried in a loop
 +-- RateLimited           429; .retry_at when the service says when, .too_many_connections
 +-- NoRules               X's 409: a stream with no rules is refused
 +-- ServiceError          any other HTTP error status
 +-- Disconnected          the service ended the connection (in-stream error, EOF, close frame)
 +-- Stalled               nothing arrived within the read timeout or watchdog
"""

from __future__ import annotations

from twitterstream.errors import TwitterStreamError


class SourceError(TwitterStreamError):
    """Base of every error a source reports. Messages never contain secrets."""


class SourceNotConfigured(SourceError):
    """A setting the source needs is missing or wrong."""


class AuthRejected(SourceError):
    """The service refused the credentials."""


class RateLimited(SourceError):
    """HTTP 429. ``retry_at`` (epoch seconds) is set when the service asks us to wait until then."""

    def __init__(self, message: str, retry_at: float | None = None, too_many_connections: bool = False):
        super().__init__(message)
        self.retry_at = retry_at
        self.too_many_connections = too_many_connections


class NoRules(SourceError):
    """The service refused a stream because there are no rules."""


class ServiceError(SourceError):
    """Any other HTTP error status."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class Disconnected(SourceError):
    """The service ended the connection."""


class Stalled(SourceError):
    """Nothing arrived for too long: the connection is presumed dead."""
