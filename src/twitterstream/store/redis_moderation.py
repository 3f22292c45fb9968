"""The moderation half of the Redis store: walls, marks (hidden, approved, pinned...), the audit log.

A mixin of :class:`twitterstream.store.redis.RedisStore`. Layout::

    ts:walls                    hash slug -> the wall's JSON record
    ts:mark:{scope}:{kind}      sorted set of post keys scored by when the mark was set ("" scope: global)
    ts:markkinds:{scope}        set of the kinds of mark a scope has (to remove a wall's marks with it)
    ts:audit                    list of audit entries (JSON), newest first, capped
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

import orjson

from twitterstream.models import Post
from twitterstream.store.base import EventKind

if TYPE_CHECKING:
    import redis

#: Audit entries kept (the oldest go first).
AUDIT_KEEP = 10_000


def _mark(scope: str, kind: str) -> str:
    return f"ts:mark:{scope}:{kind}"


class RedisModeration:
    """Moderation storage on the connection pool of :class:`RedisStore`."""

    if TYPE_CHECKING:
        _redis: redis.Redis

        @staticmethod
        def _events_key(query_key: str) -> str: ...
        @staticmethod
        def _latest_key(query_key: str) -> str: ...

    _events_max = 1000
    #: What RedisStore wraps in its error mapping.
    METHODS = (
        "publish",
        "matched_posts",
        "put_wall",
        "get_wall",
        "walls",
        "delete_wall",
        "set_mark",
        "marks",
        "marked",
        "add_audit",
        "audit_log",
    )

    def publish(self, post_key: str, kind: EventKind, query_keys: Iterable[str] | None = None) -> list[str]:
        raw = self._redis.get(f"ts:post:{post_key}")
        if raw is None:
            return []
        post_id = orjson.loads(cast(bytes, raw))["id"]
        wanted = None if query_keys is None else set(query_keys)
        matched = sorted(k.decode() for k in cast(set[bytes], self._redis.smembers(f"ts:postq:{post_key}")))
        keys = [k for k in matched if wanted is None or k in wanted]
        pipe = self._redis.pipeline()
        for key in keys:
            fields = {"k": str(kind), "p": post_key, "i": post_id}
            pipe.xadd(self._events_key(key), fields, maxlen=self._events_max, approximate=True)  # type: ignore[arg-type]
        pipe.execute()
        return keys

    def matched_posts(self) -> list[Post]:
        query_keys = [k.decode() for k in cast(list[bytes], self._redis.hvals("ts:queries"))]
        pipe = self._redis.pipeline(transaction=False)
        for key in query_keys:
            pipe.zrange(self._latest_key(key), 0, -1)
        members = sorted({m for found in pipe.execute() for m in cast(list[bytes], found)})
        posts: list[Post] = []
        for start in range(0, len(members), 500):
            records = cast(
                list[bytes | None], self._redis.mget([b"ts:post:" + m for m in members[start : start + 500]])
            )
            posts += [Post.from_record(orjson.loads(r)) for r in records if r is not None]  # expired ones are gone
        return posts

    def put_wall(self, slug: str, record: Mapping[str, Any]) -> bool:
        return bool(self._redis.hset("ts:walls", slug, orjson.dumps(dict(record))))

    def get_wall(self, slug: str) -> dict[str, Any] | None:
        raw = self._redis.hget("ts:walls", slug)
        return dict(orjson.loads(cast(bytes, raw))) if raw is not None else None

    def walls(self) -> list[dict[str, Any]]:
        raw = cast(dict[bytes, bytes], self._redis.hgetall("ts:walls"))
        return [dict(orjson.loads(raw[slug])) for slug in sorted(raw)]

    def delete_wall(self, slug: str) -> bool:
        kinds = [k.decode() for k in cast(set[bytes], self._redis.smembers(f"ts:markkinds:{slug}"))]
        pipe = self._redis.pipeline()
        pipe.hdel("ts:walls", slug)
        pipe.delete(f"ts:markkinds:{slug}", *[_mark(slug, kind) for kind in kinds])
        return bool(pipe.execute()[0])

    def set_mark(self, scope: str, kind: str, post_key: str, on: bool) -> bool:
        if on:
            pipe = self._redis.pipeline()
            pipe.zadd(_mark(scope, kind), {post_key: time.time()}, nx=True)
            pipe.sadd(f"ts:markkinds:{scope}", kind)
            return bool(pipe.execute()[0])
        return bool(self._redis.zrem(_mark(scope, kind), post_key))

    def marks(self, scope: str, kind: str) -> list[str]:
        return [m.decode() for m in cast(list[bytes], self._redis.zrange(_mark(scope, kind), 0, -1))]

    def marked(self, scope: str, kind: str, post_keys: Iterable[str]) -> set[str]:
        keys = list(dict.fromkeys(post_keys))
        if not keys:
            return set()
        scores = self._redis.zmscore(_mark(scope, kind), keys)
        return {key for key, score in zip(keys, scores, strict=True) if score is not None}

    def add_audit(self, entry: Mapping[str, Any]) -> None:
        pipe = self._redis.pipeline()
        pipe.lpush("ts:audit", orjson.dumps(dict(entry)))
        pipe.ltrim("ts:audit", 0, AUDIT_KEEP - 1)
        pipe.execute()

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        return [dict(orjson.loads(r)) for r in cast(list[bytes], self._redis.lrange("ts:audit", 0, limit - 1))]
