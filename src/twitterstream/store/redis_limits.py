"""Per-client limits in Redis: open-stream places (the ``limits`` library keeps the rate counters itself).

``ts:places:{client}`` is a sorted set of the client's open live streams scored by expiry; each web process
renews its own with its keep-alives, so that the places of a process that died lapse by themselves.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import redis

#: Drops lapsed places, then holds one unless the client holds ``most`` already (one round trip, atomic).
TAKE_PLACE = """
-- KEYS[1] the client's places; ARGV: now, expires_at, most, place, ttl in ms
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[4]) == false and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""


def places_key(client: str) -> str:
    return f"ts:places:{client}"


def take_place_args(place: str, most: int, ttl: float) -> list[str | float]:
    now = time.time()
    return [now, now + ttl, most, place, int(ttl * 1000) + 1]


def renew_places(client: redis.Redis, places: Sequence[tuple[str, str]], ttl: float) -> None:
    until = time.time() + ttl
    pipe = client.pipeline(transaction=False)
    for who, place in places:
        pipe.zadd(places_key(who), {place: until}, xx=True)
        pipe.pexpire(places_key(who), int(ttl * 1000) + 1)
    pipe.execute()
