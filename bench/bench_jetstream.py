"""Benchmark: Jetstream events decoded and routed to watched queries, as the Bluesky source and ingester do.

    .venv/bin/python bench/bench_jetstream.py            # about a minute
    .venv/bin/python bench/bench_jetstream.py --quick    # a few seconds

The timed path is ``BlueskySource.handle_message(text)`` for every WebSocket text frame, with a sink doing
what the ingester does to route (the adult-label check, then ``QueryIndex.match``; no store, no window):
JSON decoding, skipping what is not a post, building the Post (facets by UTF-8 byte offsets, embeds, langs),
de-duplication by (did, rkey), the cursor, and the query index.

Workload (fixed seeds, one core), built with the fake Jetstream's own event builders (``src/fakes``),
encoded exactly as Jetstream sends them (compact JSON, Go's HTML-safe escaping):

* the capture mix of an unfiltered Jetstream: 55 % likes, 18 % reposts, 5 % follows (commits of other
  collections), 3 % identity and 1 % account events, 15 % post creates, 2 % post deletes, 1 % like deletes;
* posts of 8 to 30 words over the Zipf vocabulary of ``bench_match.py``; 10 % carry hashtags, 5 % a mention,
  8 % a link (facets with byte offsets), 4 % a non-ASCII word or emoji; langs mostly ``en``, some ``ja``,
  ``pt``, ``de``, ``es``, a few with two languages or none; 30 % replies; embeds: 20 % images, 6 % a link
  card, 4 % a quote; 1 % carry an adult self-label;
* watched queries from ``bench_match.make_queries`` (one or two terms, each word uniform over the vocabulary).

Columns: **events/s (capture mix)** all events through ``handle_message``; **posts/s** the post creates among
them; **cost vs 10** the time per event divided by the time with 10 watched queries; **events/s (as
subscribed)** only what the source's ``wantedCollections=app.bsky.feed.post`` lets through (post creates and
deletes, identity and account events: about 70 % posts, the expensive kind). Below the table: decoding alone,
with a sink that does nothing.
"""

from __future__ import annotations

import argparse
import gc
import logging
import math
import platform
import random
import sys
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from bench_match import EXTRA_WORDS, Zipf, make_queries, make_vocabulary
from fakes.jetstream import (
    LIKE_COLLECTION,
    POST_COLLECTION,
    encode_event,
    external_embed,
    fake_did,
    images_embed,
    make_account_event,
    make_delete_event,
    make_identity_event,
    make_like_event,
    make_post_event,
    new_tid,
    quote_embed,
)
from twitterstream.config import Settings
from twitterstream.models import Post
from twitterstream.query import QueryIndex
from twitterstream.sources.base import NullSink
from twitterstream.sources.bluesky import BlueskySource

QUERY_COUNTS = (10, 2_000)
REPOST_COLLECTION = "app.bsky.feed.repost"
FOLLOW_COLLECTION = "app.bsky.graph.follow"
T0 = 1_783_175_888_000_000  # July 2026, in microseconds
#: (kind, weight in percent) of the capture mix.
MIX = (
    ("like", 55),
    ("repost", 18),
    ("follow", 5),
    ("identity", 3),
    ("account", 1),
    ("post", 15),
    ("post_delete", 2),
    ("like_delete", 1),
)
LANGS: tuple[tuple[list[str], int], ...] = (
    (["en"], 60),
    (["ja"], 10),
    (["pt"], 8),
    (["de"], 5),
    (["es"], 5),
    (["en", "es"], 5),
    ([], 7),
)


class RoutingSink(NullSink):
    """What the ingester does with a post before storing it: the adult check and the query index."""

    def __init__(self, index: QueryIndex | None) -> None:
        self.index = index
        self.posts = 0
        self.matches = 0
        self.deletes = 0

    def deliver(self, post: Post, query_keys: list[str] | None = None) -> None:
        self.posts += 1
        if self.index is not None and not post.extra.get("adult"):
            self.matches += len(self.index.match(post))

    def delete(self, post_key: str) -> None:
        self.deletes += 1


class EventMaker:
    """Jetstream event texts in the capture mix (see the module docstring)."""

    def __init__(self, rng: random.Random, zipf: Zipf) -> None:
        self.rng = rng
        self.zipf = zipf
        self.dids = [fake_did(f"user{n}.bsky.social") for n in range(5_000)]
        self.time_us = T0
        self.posts: list[tuple[str, str]] = []  # (did, rkey) of posts made, for likes, reposts, deletes
        self.likes: list[tuple[str, str]] = []
        kinds, weights = zip(*MIX, strict=True)
        self.kinds: Sequence[str] = kinds
        self.weights: Sequence[int] = weights
        self.langs, self.lang_weights = zip(*LANGS, strict=True)

    def events(self, count: int) -> list[tuple[str, str]]:
        """``count`` events of the mix as (kind, exact text)."""
        made = []
        for kind in self.rng.choices(self.kinds, self.weights, k=count):
            self.time_us += self.rng.randint(50, 900)
            made.append((kind, encode_event(getattr(self, kind)())))
        return made

    def _did(self) -> str:
        return self.rng.choice(self.dids)

    def _subject(self) -> str:
        did, rkey = self.rng.choice(self.posts) if self.posts else (self._did(), new_tid(T0))
        return f"at://{did}/{POST_COLLECTION}/{rkey}"

    def like(self) -> dict[str, Any]:
        did, rkey = self._did(), new_tid(self.time_us)
        self.likes.append((did, rkey))
        return make_like_event(did, self._subject(), rkey=rkey, time_us=self.time_us)

    def repost(self) -> dict[str, Any]:
        return self._other_collection(REPOST_COLLECTION, {"subject": {"cid": "bafyrei", "uri": self._subject()}})

    def follow(self) -> dict[str, Any]:
        return self._other_collection(FOLLOW_COLLECTION, {"subject": self._did()})

    def _other_collection(self, collection: str, fields: dict[str, Any]) -> dict[str, Any]:
        event = make_like_event(self._did(), self._subject(), rkey=new_tid(self.time_us), time_us=self.time_us)
        event["commit"]["collection"] = collection
        event["commit"]["record"] = {"$type": collection, "createdAt": "2026-07-04T14:38:07.323Z", **fields}
        return event

    def identity(self) -> dict[str, Any]:
        return make_identity_event(self._did(), handle="someone.bsky.social", time_us=self.time_us)

    def account(self) -> dict[str, Any]:
        return make_account_event(self._did(), time_us=self.time_us)

    def post_delete(self) -> dict[str, Any]:
        did, rkey = self.rng.choice(self.posts) if self.posts else (self._did(), new_tid(T0))
        return make_delete_event(did, rkey, time_us=self.time_us)

    def like_delete(self) -> dict[str, Any]:
        did, rkey = self.rng.choice(self.likes) if self.likes else (self._did(), new_tid(T0))
        return make_delete_event(did, rkey, time_us=self.time_us, collection=LIKE_COLLECTION)

    def post(self) -> dict[str, Any]:
        rng = self.rng
        words = self.zipf.words(rng.randint(8, 30))
        if rng.random() < 0.10:
            words += [f"#{tag}" for tag in dict.fromkeys(self.zipf.words(rng.randint(1, 2)))]
        if rng.random() < 0.05:
            words.insert(0, f"@{self.zipf.words(1)[0]}.bsky.social")
        if rng.random() < 0.08:
            words.append(f"{self.zipf.words(1)[0]}.com/{self.zipf.words(1)[0]}")
        if rng.random() < 0.04:
            words.insert(rng.randrange(len(words)), rng.choice(EXTRA_WORDS))
        words[0] = words[0].capitalize()
        embed_roll = rng.random()
        embed = None
        if embed_roll < 0.20:
            embed = images_embed(rng.randint(1, 4))
        elif embed_roll < 0.26:
            embed = external_embed(f"https://{self.zipf.words(1)[0]}.example/{self.zipf.words(1)[0]}", "A title")
        elif embed_roll < 0.30:
            embed = quote_embed(self._subject())
        did, rkey = self._did(), new_tid(self.time_us)
        self.posts.append((did, rkey))
        return make_post_event(
            did,
            rkey,
            " ".join(words),
            time_us=self.time_us,
            langs=rng.choices(self.langs, self.lang_weights)[0],
            reply=rng.random() < 0.30,
            embed=embed,
            labels=["porn"] if rng.random() < 0.01 else (),
        )


def make_source(index: QueryIndex | None) -> BlueskySource:
    """A fresh source (its (did, rkey) memory empty, as after a start) reporting to a routing sink."""
    return BlueskySource(Settings(source="bluesky", bluesky_profile_url="http://127.0.0.1:9"), RoutingSink(index))


def run_source(texts: Sequence[str], index: QueryIndex | None) -> RoutingSink:
    """Every text through a fresh source, untimed (for the counts)."""
    source = make_source(index)
    try:
        for text in texts:
            source.handle_message(text)
    finally:
        source.profiles.close()
    assert isinstance(source.sink, RoutingSink)
    return source.sink


def time_source(texts: Sequence[str], index: QueryIndex | None, repeats: int) -> float:
    """The fastest of ``repeats`` passes over ``texts``, each through a fresh source (made outside the timing),
    garbage collection paused while timing."""
    best = math.inf
    for _ in range(repeats):
        source = make_source(index)
        handle = source.handle_message
        gc.collect()
        gc.disable()
        try:
            started = time.perf_counter()
            for text in texts:
                handle(text)
            best = min(best, time.perf_counter() - started)
        finally:
            gc.enable()
            source.profiles.close()
    return best


#: What a subscriber with ``wantedCollections=app.bsky.feed.post`` (as the source asks) receives of the mix.
SUBSCRIBED_KINDS = frozenset({"post", "post_delete", "identity", "account"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (fewer events, one repeat)")
    args = parser.parse_args(argv)
    event_count, repeats = (20_000, 2) if args.quick else (200_000, 3)
    logging.disable(logging.WARNING)

    rng = random.Random(20260704)
    vocabulary = make_vocabulary(rng)
    made = EventMaker(rng, Zipf(vocabulary, rng)).events(event_count)
    texts = [text for _, text in made]
    subscribed = [text for kind, text in made if kind in SUBSCRIBED_KINDS]
    all_queries = make_queries(max(QUERY_COUNTS), vocabulary, random.Random(7))
    probe = run_source(texts, None)
    size = sum(len(text.encode()) for text in texts) / event_count
    print(f"{event_count:,} events ({probe.posts:,} post creates, {probe.deletes:,} post deletes), {size:.0f} B each")

    rows = []
    base = 0.0
    for count in QUERY_COUNTS:
        index = QueryIndex()
        for query in all_queries[:count]:
            index.add(query.key, query)
        result = run_source(texts, index)
        elapsed = time_source(texts, index, repeats)
        base = base or elapsed
        subscribed_rate = len(subscribed) / time_source(subscribed, index, repeats)
        rows.append(
            Row(
                count,
                event_count / elapsed,
                result.posts / elapsed,
                elapsed / base,
                subscribed_rate,
                result.matches / result.posts,
            )
        )
    decode_time = time_source(texts, None, repeats)
    print_table(rows, event_count / decode_time, probe.posts / decode_time, args.quick)
    return 0


class Row(NamedTuple):
    queries: int
    events: float  # events/s, capture mix
    posts: float  # post creates/s within it
    cost: float  # time per event / time per event with 10 queries
    subscribed: float  # events/s of the subscribed mix
    matches: float  # matches per post


def print_table(rows: list[Row], decode: float, decode_posts: float, quick: bool) -> None:
    command = "python bench/bench_jetstream.py" + (" --quick" if quick else "")
    print()
    print(f"`{command}` (Python {platform.python_version()}, {platform.machine()}, one core)")
    print()
    print(
        "| watched queries | events/s (capture mix) | posts/s | cost vs 10 | events/s (as subscribed) | matches/post |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row.queries:,} | {row.events:,.0f} | {row.posts:,.0f} | {row.cost:.2f}x | {row.subscribed:,.0f} "
            f"| {row.matches:.2f} |"
        )
    print()
    print(
        f"Decoding alone (a sink that does nothing, capture mix): {decode:,.0f} events/s, {decode_posts:,.0f} posts/s."
    )
    print(
        "As subscribed: what `wantedCollections=app.bsky.feed.post` lets through (posts, deletes, identity, account)."
    )


if __name__ == "__main__":
    sys.exit(main())
