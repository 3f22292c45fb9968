"""The one exception tree of TwitterStream. Every error the project raises on purpose is one of these::

    TwitterStreamError
     +-- ConfigError              a setting is missing or wrong (config)
     +-- QueryError               a query does not parse; says what and where (query)
     +-- DecodeError              a payload from a service or a replay file is not what its format says
     +-- StoreUnavailable         the store cannot be reached or used right now (store)
     +-- SourceError              a service refused or dropped us (sources.errors has the subtree)

Messages never contain secrets.
"""

from __future__ import annotations


class TwitterStreamError(Exception):
    """Base of every error TwitterStream raises on purpose."""


class DecodeError(TwitterStreamError, ValueError):
    """A payload (a stream line, an event, a replayed record) is not what its format says: it is skipped."""
