"""The stats half of the Redis store: per query, per arrival minute counters (see ``store.stats``).

Layout::

    ts:q:{qid}:stats:{minute}   hash counter name -> count, for the posts that newly matched the query in
                                that minute (minutes since the epoch); expires a day after its last write

The counters are added by the script that saves the match (``redis_scripts.SAVE``), only when the match is new,
so a post is counted exactly once however many ingesters save it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from twitterstream.store.redis_connection import guard
from twitterstream.store.stats import KEEP_MINUTES, WindowCounts, counters_of, current_minute

if TYPE_CHECKING:
    from collections.abc import Callable

    import redis

    from twitterstream.models import Post

#: Seconds a minute's counters live after their last write: the longest window, and a minute to spare.
STATS_TTL = (KEEP_MINUTES + 1) * 60


class RedisStats:
    """Stats counters on the connection pool of :class:`RedisStore`."""

    if TYPE_CHECKING:
        _redis: redis.Redis
        _stats_key: Callable[[str, int], str]

    @staticmethod
    def _stats_minute() -> int:
        """The minute the posts saved now are counted in."""
        return current_minute()

    @staticmethod
    def _stats_args(post: Post) -> list[Any]:
        """What the save script needs to count ``post``: the counters' time to live, then their names."""
        return [STATS_TTL, *counters_of(post)]

    @guard
    def stats(self, query_key: str, minutes: int) -> WindowCounts:
        end = current_minute()
        start = end - minutes + 1
        pipe = self._redis.pipeline(transaction=False)
        for minute in range(start, end + 1):
            pipe.hgetall(self._stats_key(query_key, minute))
        counts = WindowCounts(minutes, [0] * minutes)
        for index, raw in enumerate(cast(list[dict[bytes, bytes]], pipe.execute())):
            if raw:
                counts.add(index, {name.decode(): int(count) for name, count in raw.items()})
        return counts
