"""Redis store: for several processes or containers (web replicas, one ingester) sharing one Redis.

Layout (every key starts with ``ts:``; a query's keys use a short hash of its canonical text)::

    ts:post:{post key}        the post's JSON, expiring after a day
    ts:postq:{post key}       set of query keys the post matched (for embed and delete events)
    ts:q:{qid}:latest         sorted set of post keys scored by the post's time: the page, newest first
    ts:q:{qid}:stats:{minute} the query's stats counters of one arrival minute (see redis_stats.py)
    ts:q:{qid}:events         stream (MAXLEN ~) of post/embed/delete entries: the live channel; the stream
                              entry id is the cursor, so a reader resumes exactly where it stopped
    ts:queries                hash qid -> query key (for housekeeping)
    ts:lease:...              the leases on queries (``redis_leases``)
    ts:state                  hash of small JSON values (resume cursors, ingester status)
    ts:lock:{name}            the ingester lock (SET NX PX, renewed by its holder only)
    ts:places:{client}        a client's open live streams (``redis_limits``); ts:limits... rate counters

A post is saved and matched in one Lua script, so concurrent writers never store or announce it twice.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

import orjson
from limits.storage import RedisStorage, Storage
from redis.client import Pipeline
from redis.typing import KeyT, StreamIdT

from twitterstream.models import Post
from twitterstream.store import redis_limits
from twitterstream.store.base import Event, EventKind, PageMark, Store
from twitterstream.store.redis_connection import MAX_BLOCK_SECONDS, connect, guard
from twitterstream.store.redis_leases import RedisLeases
from twitterstream.store.redis_moderation import RedisModeration
from twitterstream.store.redis_scripts import LOCK, PAGE, SAVE, UNLOCK
from twitterstream.store.redis_stats import RedisStats

T = TypeVar("T")

POST_TTL = 24 * 3600
EVENTS_MAXLEN = 1000


def _score(moment: datetime | None) -> str:
    return repr(moment.timestamp()) if moment is not None else ""


def _qid(query_key: str) -> str:
    return hashlib.sha1(query_key.encode()).hexdigest()[:16]


def _latest(query_key: str) -> str:
    return f"ts:q:{_qid(query_key)}:latest"


def _events(query_key: str) -> str:
    return f"ts:q:{_qid(query_key)}:events"


def _stats(query_key: str, minute: int) -> str:
    return f"ts:q:{_qid(query_key)}:stats:{minute}"


class RedisStore(RedisModeration, RedisStats, RedisLeases, Store):
    """A :class:`Store` in Redis (7+)."""

    _events_key = staticmethod(_events)  # for the moderation mixin
    _latest_key = staticmethod(_latest)
    _stats_key = staticmethod(_stats)  # for the stats mixin
    _events_max = EVENTS_MAXLEN

    def __init__(self, url: str) -> None:
        self.url = url
        self._redis = connect(url)
        self._save = self._redis.register_script(SAVE)
        self._lock = self._redis.register_script(LOCK)
        self._unlock = self._redis.register_script(UNLOCK)
        self._page = self._redis.register_script(PAGE)
        self._take_place = self._redis.register_script(redis_limits.TAKE_PLACE)
        self._register_lease_scripts()

    # -- posts ----------------------------------------------------------------------------------
    def save_post(self, post: Post, query_keys: Iterable[str]) -> list[str]:
        return self.save_matches([(post, list(query_keys))])[0]

    @guard
    def save_matches(self, matches: Sequence[tuple[Post, Sequence[str]]]) -> list[list[str]]:
        pipe = self._redis.pipeline(transaction=False)  # one round trip; each post is still one script
        minute = self._stats_minute()
        for post, query_keys in matches:
            keys = list(dict.fromkeys(query_keys))
            redis_keys = [f"ts:post:{post.key}", f"ts:postq:{post.key}"]
            for key in keys:
                redis_keys += [_latest(key), _events(key), _stats(key, minute)]
            record = orjson.dumps(post.to_record())
            args: list[bytes | str | int | float] = [record, POST_TTL, post.created_at.timestamp(), post.key, post.id]
            args += [EVENTS_MAXLEN, *keys, *self._stats_args(post)]
            self._save(keys=redis_keys, args=args, client=pipe)
        results = [[k.decode() for k in cast(list[bytes], newly)] for newly in pipe.execute()]
        if any(results):
            self._redis.hset("ts:queries", mapping={_qid(k): k for newly in results for k in newly})
        return results

    @guard
    def set_embed(self, post_key: str, embed_html: str) -> list[str]:
        raw = self._redis.get(f"ts:post:{post_key}")
        if raw is None:
            return []
        record = orjson.loads(raw)
        record["embed_html"] = embed_html
        self._redis.set(f"ts:post:{post_key}", orjson.dumps(record), keepttl=True)
        keys, pipe = self._publish_for_post(post_key, record["id"], EventKind.EMBED)
        pipe.execute()
        return keys

    @guard
    def delete_post(self, post_key: str) -> list[str]:
        raw = self._redis.get(f"ts:post:{post_key}")
        if raw is None:
            return []
        # one transaction: a reader of the delete events finds the post gone (a live stream sends a delete
        # only for a post that is gone or withheld: one still stored would look like a withheld post unhidden)
        keys, pipe = self._publish_for_post(post_key, orjson.loads(raw)["id"], EventKind.DELETE)
        for key in keys:
            pipe.zrem(_latest(key), post_key)
        pipe.delete(f"ts:post:{post_key}", f"ts:postq:{post_key}")
        pipe.execute()
        return keys

    def _publish_for_post(self, post_key: str, post_id: str, kind: EventKind) -> tuple[list[str], Pipeline]:
        """The post's queries, and a transaction that announces ``kind`` on each (the caller executes it)."""
        keys = sorted(k.decode() for k in cast(set[bytes], self._redis.smembers(f"ts:postq:{post_key}")))
        pipe = self._redis.pipeline()
        for key in keys:
            pipe.xadd(_events(key), {"k": kind, "p": post_key, "i": post_id}, maxlen=EVENTS_MAXLEN, approximate=True)
        return keys, pipe

    @guard
    def get_post(self, post_key: str) -> Post | None:
        raw = self._redis.get(f"ts:post:{post_key}")
        return Post.from_record(orjson.loads(raw)) if raw is not None else None

    @guard
    def latest(self, query_key: str, limit: int = 10) -> list[Post]:
        # Ties on the post's time are broken by key, newest-looking first, as SQLite does.
        members = cast(list[bytes], self._redis.zrevrange(_latest(query_key), 0, limit - 1))
        if not members:
            return []
        records = cast(list[bytes | None], self._redis.mget([b"ts:post:" + m for m in members]))
        return [Post.from_record(orjson.loads(r)) for r in records if r is not None]

    # -- paging --------------------------------------------------------------------------------------
    @guard
    def page_mark(self, query_key: str, post_id: str) -> PageMark | None:
        # A post key is "source:id" (a source name has no colon); scan the query's set for that id.
        pattern = "*:" + "".join("\\" + c if c in "*?[]\\" else c for c in post_id)
        found = [
            (float(score), member.decode())
            for member, score in self._redis.zscan_iter(_latest(query_key), match=pattern, count=1000)
            if member.decode().partition(":")[2] == post_id
        ]
        if not found:
            return None
        at, key = max(found)
        return PageMark(at, key)

    @guard
    def posts_page(
        self,
        query_key: str,
        limit: int,
        after: PageMark | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[list[Post], PageMark | None]:
        floor = since.timestamp() if since is not None else None
        posts: list[Post] = []
        mark = after
        while len(posts) < limit:
            want = limit - len(posts)
            args: list[str | int] = [repr(mark.at) if mark else "", mark.post_key if mark else "", _score(until), want]
            flat = cast(list[bytes], self._page(keys=[_latest(query_key)], args=args))
            page = [(flat[i].decode(), float(flat[i + 1])) for i in range(0, len(flat), 2)]
            if floor is not None:
                page = [(member, at) for member, at in page if at >= floor]
            if not page:
                return posts, (mark if posts else None)
            records = cast(list[bytes | None], self._redis.mget([f"ts:post:{m}" for m, _ in page]))
            # A post whose record expired (a day after it was saved) is skipped, as latest() does.
            posts += [Post.from_record(orjson.loads(r)) for r in records if r is not None]
            mark = PageMark(page[-1][1], page[-1][0])
            if len(page) < want:
                break
        return posts, mark

    # -- live channel -----------------------------------------------------------------------------
    @guard
    def head_cursor(self, query_key: str) -> str:
        newest = cast(list[Any], self._redis.xrevrange(_events(query_key), count=1))
        return newest[0][0].decode() if newest else "0"

    @guard
    def events_after(self, query_key: str, cursor: str, limit: int = 500) -> list[Event]:
        start = "-" if cursor in ("", "0") else f"({cursor}"
        entries = cast(list[Any], self._redis.xrange(_events(query_key), min=start, count=limit))
        return self._events_from(query_key, entries)

    @guard
    def find_post_event(self, query_key: str, post_id: str) -> str | None:
        wanted = post_id.encode()
        for entry_id, fields in cast(list[Any], self._redis.xrevrange(_events(query_key), count=EVENTS_MAXLEN * 2)):
            if fields.get(b"k") == b"post" and fields.get(b"i") == wanted:
                return str(entry_id.decode())
        return None

    @guard
    def pace(self, query_key: str, buckets: int, bucket_seconds: float = 60.0) -> list[int]:
        now_ms = time.time() * 1000
        start_ms = now_ms - buckets * bucket_seconds * 1000
        counts = [0] * buckets
        entries = cast(list[Any], self._redis.xrange(_events(query_key), min=f"{int(start_ms)}-0", max="+"))
        for entry_id, fields in entries:
            if fields.get(b"k") == b"post":
                at_ms = int(entry_id.split(b"-", 1)[0])
                counts[min(max(int((at_ms - start_ms) / (bucket_seconds * 1000)), 0), buckets - 1)] += 1
        return counts

    @guard
    def wait_for_events(self, cursors: Mapping[str, str], timeout: float) -> list[Event]:
        if not cursors:
            return []
        by_stream = {_events(key): key for key in cursors}
        block_ms = max(int(min(timeout, MAX_BLOCK_SECONDS) * 1000), 1)
        after: dict[KeyT, StreamIdT] = {stream: cursors[key] or "0" for stream, key in by_stream.items()}
        answer = cast(list[Any], self._redis.xread(after, count=1000, block=block_ms) or [])
        if answer and len(after) > 1:
            # Redis before 7.2 wakes a blocked XREAD with the one stream that woke it: read the others now, so
            # that what one write added to several queries comes in one answer (streams of several queries)
            for stream, entries in answer:
                after[stream.decode()] = entries[-1][0].decode()
            answer += cast(list[Any], self._redis.xread(after, count=1000) or [])
        events: list[Event] = []
        for stream, entries in answer:
            events += self._events_from(by_stream[stream.decode()], entries)
        return events

    def _events_from(self, query_key: str, entries: list[Any]) -> list[Event]:
        if not entries:
            return []
        post_keys = [fields[b"p"] for _, fields in entries]
        records = cast(list[bytes | None], self._redis.mget([b"ts:post:" + k for k in post_keys]))
        events = []
        for (entry_id, fields), record in zip(entries, records, strict=True):
            post = Post.from_record(orjson.loads(record)) if record is not None else None
            kind = EventKind(fields[b"k"].decode())
            events.append(Event(entry_id.decode(), query_key, kind, fields[b"p"].decode(), post))
        return events

    # -- state and lock ---------------------------------------------------------------------------
    @guard
    def get_state(self, name: str) -> Any:
        raw = self._redis.hget("ts:state", name)
        return orjson.loads(cast(bytes, raw)) if raw is not None else None

    @guard
    def set_state(self, name: str, value: Any) -> None:
        self._redis.hset("ts:state", name, orjson.dumps(value))

    @guard
    def state_setdefault(self, name: str, value: Any) -> Any:
        self._redis.hsetnx("ts:state", name, orjson.dumps(value))
        return orjson.loads(cast(bytes, self._redis.hget("ts:state", name)))

    # -- per-client limits -------------------------------------------------------------------------
    def rate_limit_storage(self) -> Storage:
        # limits' own Redis storage on this store's pool (same timeouts); its errors come wrapped in
        # limits.errors.StorageError, which the web turns into a 503 like any store outage
        return RedisStorage(
            self.url, connection_pool=self._redis.connection_pool, key_prefix="ts:limits", wrap_exceptions=True
        )

    @guard
    def take_stream_place(self, client: str, place: str, most: int, ttl: float) -> bool:
        args = redis_limits.take_place_args(place, most, ttl)
        return bool(self._take_place(keys=[redis_limits.places_key(client)], args=args))

    @guard
    def release_stream_place(self, client: str, place: str) -> None:
        self._redis.zrem(redis_limits.places_key(client), place)

    @guard
    def renew_stream_places(self, places: Sequence[tuple[str, str]], ttl: float) -> None:
        if places:
            redis_limits.renew_places(self._redis, places, ttl)

    @guard
    def acquire_lock(self, name: str, holder: str, ttl: float) -> bool:
        return bool(self._lock(keys=[f"ts:lock:{name}"], args=[holder, max(int(ttl * 1000), 1)]))

    @guard
    def release_lock(self, name: str, holder: str) -> None:
        self._unlock(keys=[f"ts:lock:{name}"], args=[holder])

    # -- housekeeping -------------------------------------------------------------------------------
    @guard
    def ping(self) -> None:
        self._redis.ping()

    @guard
    def trim(self, keep_per_query: int, keep_seconds: float) -> None:
        now = time.time()
        cutoff = now - keep_seconds
        expired = cast(list[bytes], self._redis.zrangebyscore("ts:lease:exp", "-inf", f"({cutoff}"))
        if expired:
            self._redis.zrem("ts:lease:exp", *expired)
            self._redis.hdel("ts:lease:data", *expired)
        watched_keys = {w.key for w in self.watched()}
        recently = {
            m.decode().split("\0", 1)[0]
            for m in cast(list[bytes], self._redis.zrangebyscore("ts:lease:exp", cutoff, "+inf"))
        }
        min_id = f"{int(cutoff * 1000)}-0"
        for qid, raw_key in cast(dict[bytes, bytes], self._redis.hgetall("ts:queries")).items():
            key = raw_key.decode()
            if key not in watched_keys and key not in recently:
                self._redis.delete(_latest(key), _events(key))
                self._redis.hdel("ts:queries", qid)
                self._redis.hdel("ts:lease:since", key)
                self._redis.hdel("ts:lease:until", key)
                continue
            self._redis.zremrangebyrank(_latest(key), 0, -(keep_per_query + 1))
            self._redis.xtrim(_events(key), minid=min_id, approximate=True)

    def close(self) -> None:
        self._redis.close()


# The moderation methods answer Redis errors as every other method does (StoreUnavailable, in words).
for _name in RedisModeration.METHODS:
    setattr(RedisStore, _name, guard(getattr(RedisModeration, _name)))
