"""The watching half of the Redis store: leases on queries (who watches what, until when).

A mixin of :class:`twitterstream.store.redis.RedisStore`. Layout::

    ts:lease:exp / :data      sorted set of "{query}\\0{holder}" by expiry / their viewers and text
    ts:lease:since / :until   hash query key -> when its current watch began / its latest lease expiry

``until`` never falls short of a query's leases (a lease ended early leaves it later than they are), so a
query whose ``until`` has passed is not watched: a new query is known as such at once. What a new query asks
otherwise (since when is it watched? how many queries are?) is answered by a script in Redis, one round trip
that sends back a number, not every lease.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

import orjson

from twitterstream.store.base import Watch
from twitterstream.store.redis_connection import guard

if TYPE_CHECKING:
    import redis
    from redis.commands.core import Script

#: When a query's current watch began (false: no unexpired lease). KEYS: exp, since, until; ARGV: now, key.
WATCHED_SINCE = """
local latest = redis.call('HGET', KEYS[3], ARGV[2])
if not latest or tonumber(latest) <= tonumber(ARGV[1]) then return false end
local prefix = ARGV[2] .. '\\0'
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')) do
  if string.sub(member, 1, #prefix) == prefix then
    return redis.call('HGET', KEYS[2], ARGV[2]) or ARGV[1]
  end
end
return false
"""

#: How many queries have an unexpired lease. KEYS: exp; ARGV: now.
WATCHED_COUNT = """
local seen, count = {}, 0
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')) do
  local key = string.sub(member, 1, string.find(member, '\\0', 1, true) - 1)
  if not seen[key] then
    seen[key] = true
    count = count + 1
  end
end
return count
"""


class RedisLeases:
    """Leases on the connection pool of :class:`RedisStore`."""

    if TYPE_CHECKING:
        _redis: redis.Redis
        _watched_since: Script
        _watched_count: Script

    def _register_lease_scripts(self) -> None:
        self._watched_since = self._redis.register_script(WATCHED_SINCE)
        self._watched_count = self._redis.register_script(WATCHED_COUNT)

    @guard
    def watch(self, query_key: str, query_text: str, holder: str, viewers: int, ttl: float) -> None:
        now = time.time()
        member = f"{query_key}\0{holder}"
        until = self._redis.hget("ts:lease:until", query_key)
        pipe = self._redis.pipeline()
        if until is None or float(until) <= now:  # not watched a moment ago: a new watch starts now
            pipe.hset("ts:lease:since", query_key, now)
        pipe.hset("ts:lease:until", query_key, max(float(until or 0), now + ttl))
        pipe.zadd("ts:lease:exp", {member: now + ttl})
        pipe.hset("ts:lease:data", member, orjson.dumps({"text": query_text, "viewers": viewers}))
        pipe.execute()

    @guard
    def watched(self) -> list[Watch]:
        now = time.time()
        leases = cast(
            list[tuple[bytes, float]], self._redis.zrangebyscore("ts:lease:exp", f"({now}", "+inf", withscores=True)
        )
        if not leases:
            return []
        data = cast(list[bytes | None], self._redis.hmget("ts:lease:data", [m for m, _ in leases]))
        totals: dict[str, dict[str, Any]] = {}  # query key -> text, viewers, expires_at
        for (member, expires_at), raw in zip(leases, data, strict=True):
            key = member.decode().split("\0", 1)[0]
            info: dict[str, Any] = orjson.loads(raw) if raw else {"text": key, "viewers": 0}
            entry = totals.setdefault(key, {"text": info["text"], "viewers": 0, "expires_at": 0.0})
            entry["viewers"] += int(info["viewers"])
            entry["expires_at"] = max(entry["expires_at"], expires_at)
        since = cast(list[bytes | None], self._redis.hmget("ts:lease:since", list(totals)))
        watches = [
            Watch(key, e["text"], e["viewers"], float(s) if s else now, e["expires_at"])
            for (key, e), s in zip(totals.items(), since, strict=True)
        ]
        watches.sort(key=lambda w: (-w.viewers, w.since))
        return watches

    @guard
    def watched_since(self, query_key: str) -> float | None:
        keys = ["ts:lease:exp", "ts:lease:since", "ts:lease:until"]
        since = self._watched_since(keys=keys, args=[repr(time.time()), query_key])
        return float(since) if since is not None else None

    @guard
    def watched_count(self) -> int:
        return int(self._watched_count(keys=["ts:lease:exp"], args=[repr(time.time())]))
