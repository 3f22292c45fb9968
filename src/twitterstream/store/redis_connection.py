"""The connection to Redis: bounded waits, a retry only where it helps, and every failure said in words."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from twitterstream.store.base import StoreUnavailable

T = TypeVar("T")

#: The longest a command (or a connection, or a free pooled connection) is waited for: a frozen Redis, or a
#: network partition, answers pages with a 503 within this, not after minutes.
TIMEOUT_SECONDS = 1.5
#: Longest single blocking read (XREAD BLOCK): well below the socket timeout, so that a blocking read that
#: simply found nothing is never mistaken for a Redis that does not answer.
MAX_BLOCK_SECONDS = 0.5
#: Redis connections per process (per web worker); past them a request waits for one.
MAX_CONNECTIONS = 100


def connect(url: str) -> redis.Redis:
    """A client for ``DATABASE_URL`` whose every wait is bounded (a frozen Redis answers within seconds)."""
    # A blocking pool: a greenlet past the cap waits for a free connection. The default pool of
    # redis-py 8 raises "Too many connections" past 100 (a 503 while Redis is fine), which a gevent
    # worker reaches when a hundred streams open at once.
    # Every wait is bounded by TIMEOUT_SECONDS, and only a refused or dropped connection is retried
    # (twice, quickly: a restarted Redis leaves dead pooled connections behind, and the retry reconnects).
    # A timeout is not retried: a frozen Redis would make each call wait several timeouts.
    pool = redis.BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=TIMEOUT_SECONDS,
        socket_timeout=TIMEOUT_SECONDS,
        socket_connect_timeout=TIMEOUT_SECONDS,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.25, base=0.05), retries=2, supported_errors=(redis.ConnectionError,)),
        retry_on_error=[redis.ConnectionError],
    )
    client = redis.Redis(connection_pool=pool)
    client.auto_close_connection_pool = True  # close() disconnects the pool, as with from_url
    return client


def in_words(exc: redis.RedisError) -> str:
    """What went wrong with Redis, in words (redis-py's own text names the host: it is not shown)."""
    if isinstance(exc, redis.TimeoutError):
        return f"Redis does not answer (no reply within {TIMEOUT_SECONDS:g} s)"
    if isinstance(exc, redis.AuthenticationError):
        return "Redis refused the credentials in DATABASE_URL"
    if isinstance(exc, redis.ConnectionError):
        return "Redis cannot be reached (connection refused or lost)"
    return f"Redis refused a command ({type(exc).__name__})"


def guard(method: Callable[..., T]) -> Callable[..., T]:
    """Map every Redis error (a lost, refused or silent connection, a refused command) onto StoreUnavailable."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        except redis.RedisError as exc:
            raise StoreUnavailable(in_words(exc)) from exc

    return wrapper
