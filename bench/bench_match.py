"""Benchmark: routing a stream of posts to watched queries, through the index and naively.

    .venv/bin/python bench/bench_match.py            # about a minute
    .venv/bin/python bench/bench_match.py --quick    # a few seconds

Workload (fixed seeds, one core):

* a vocabulary of 50,000 synthetic words; a word's frequency follows Zipf's law (rank r has weight 1/r) and, as
  in real languages, frequent words are short (2 letters at the head, up to 12 in the tail);
* posts of 8 to 30 words drawn from that distribution, with capitals and punctuation; one in ten carries one or
  two hashtags (entities, and in the text), one in twenty a mention, one in twenty-five a non-ASCII word or emoji
  (the Unicode tokenizer's path);
* watched queries of one or two terms, each word drawn uniformly from the vocabulary (a watched topic is as
  likely to be a rare word as a common one): ``word`` (55%), ``word word`` (20%), ``word OR word`` (10%),
  ``#tag`` (10%), ``word -word`` (5%).

Columns: **index** is ``QueryIndex.match(PostFeatures.of(post))``; **naive** computes the features once per post
and calls every query's ``matches``; **decode + index** starts from X API v2 stream lines (compact JSON bytes)
decoded with ``twitterstream.sources.x_payload.decode_stream_line``. "Cost vs 10" is the index's time per post
divided by its time with 10 watched queries (the design asks for <= 1.2 at 2,000). The index's answers are
checked against the naive loop's before anything is timed.
"""

from __future__ import annotations

import argparse
import gc
import math
import platform
import random
import string
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from itertools import accumulate

import orjson

from twitterstream.models import Author, Post
from twitterstream.query import PostFeatures, Query, QueryIndex, parse

VOCABULARY_SIZE = 50_000
QUERY_COUNTS = (10, 100, 2_000)
NAIVE_CALLS = 2_000_000  # queries x posts per naive measurement (the naive loop is slow by design)
EXTRA_WORDS = ("café", "naïve", "東京", "🍕", "👍🏽", "❤️", "straße", "İstanbul")


def make_vocabulary(rng: random.Random) -> list[str]:
    """Distinct lower-case words, most frequent first; length grows with the logarithm of the rank."""
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < VOCABULARY_SIZE:
        rank = len(words) + 1
        length = 2 + int(math.log10(rank) * 2) + rng.randint(0, 2)
        word = "".join(rng.choices(string.ascii_lowercase, k=length))
        if word not in seen and word not in ("or", "and"):
            seen.add(word)
            words.append(word)
    return words


class Zipf:
    """Draws vocabulary words with probability proportional to 1/rank."""

    def __init__(self, vocabulary: list[str], rng: random.Random) -> None:
        self.vocabulary = vocabulary
        self.rng = rng
        self.cumulative = list(accumulate(1 / rank for rank in range(1, len(vocabulary) + 1)))

    def words(self, count: int) -> list[str]:
        return self.rng.choices(self.vocabulary, cum_weights=self.cumulative, k=count)


def make_posts(count: int, zipf: Zipf, rng: random.Random) -> list[Post]:
    """Synthetic posts (see the module docstring)."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    posts = []
    for number in range(count):
        words = zipf.words(rng.randint(8, 30))
        hashtags: tuple[str, ...] = ()
        mentions: tuple[str, ...] = ()
        if rng.random() < 0.10:
            hashtags = tuple(dict.fromkeys(zipf.words(rng.randint(1, 2))))
            words += [f"#{tag}" for tag in hashtags]
        if rng.random() < 0.05:
            mentions = (zipf.words(1)[0],)
            words.insert(0, f"@{mentions[0]}")
        if rng.random() < 0.04:
            words.insert(rng.randrange(len(words)), rng.choice(EXTRA_WORDS))
        words[0] = words[0].capitalize()
        for _ in range(rng.randint(0, 2)):
            position = rng.randrange(len(words))
            words[position] += rng.choice(",.!?:")
        post_id = str(1_800_000_000_000_000_000 + number)
        posts.append(
            Post(
                id=post_id,
                source="x",
                url=f"https://x.com/user{number % 997}/status/{post_id}",
                text=" ".join(words) + rng.choice((".", "!", "", "")),
                created_at=start + timedelta(milliseconds=number),
                author=Author(id=str(1000 + number % 997), username=f"user{number % 997}"),
                lang="en",
                hashtags=hashtags,
                mentions=mentions,
            )
        )
    return posts


def make_queries(count: int, vocabulary: list[str], rng: random.Random) -> list[Query]:
    """Distinct watched queries of one or two terms (see the module docstring)."""
    queries: dict[str, Query] = {}
    while len(queries) < count:
        first, second = rng.choice(vocabulary), rng.choice(vocabulary)
        kind = rng.random()
        if kind < 0.55:
            text = first
        elif kind < 0.75:
            text = f"{first} {second}"
        elif kind < 0.85:
            text = f"{first} OR {second}"
        elif kind < 0.95:
            text = f"#{first}"
        else:
            text = f"{first} -{second}"
        query = parse(text)
        queries.setdefault(query.key, query)
    return list(queries.values())


def stream_line(post: Post) -> bytes:
    """The post as one X API v2 filtered-stream message line."""
    text = post.text
    entities = {"hashtags": [{"start": text.find(f"#{tag}"), "end": 0, "tag": tag} for tag in post.hashtags]}
    message = {
        "data": {
            "id": post.id,
            "text": text,
            "author_id": post.author.id,
            "created_at": post.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "lang": post.lang,
            "edit_history_tweet_ids": [post.id],
            "entities": entities,
        },
        "includes": {"users": [{"id": post.author.id, "name": "Bench", "username": post.author.username}]},
        "matching_rules": [{"id": "1", "tag": "bench"}],
    }
    return orjson.dumps(message)


def best_time(run: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` runs, in seconds (garbage collection paused while timing)."""
    best = math.inf
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            started = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - started)
        finally:
            gc.enable()
    return best


def route_indexed(index: QueryIndex, posts: Sequence[Post]) -> list[list[str]]:
    match, features = index.match, PostFeatures.of
    return [match(features(post)) for post in posts]


def route_naive(queries: Sequence[tuple[str, Query]], posts: Sequence[Post]) -> list[list[str]]:
    routed = []
    for post in posts:
        features = PostFeatures.of(post)
        routed.append([key for key, query in queries if query.matches(features)])
    return routed


def route_decoded(index: QueryIndex, lines: Sequence[bytes]) -> int:
    from twitterstream.sources.x_payload import decode_stream_line

    match, features = index.match, PostFeatures.of
    matched = 0
    for line in lines:
        message = decode_stream_line(line)
        if message is not None:
            for post in message.posts:
                matched += len(match(features(post)))
    return matched


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (fewer posts, one repeat)")
    args = parser.parse_args(argv)
    post_count, repeats = (4_000, 2) if args.quick else (40_000, 3)

    rng = random.Random(20261101)
    vocabulary = make_vocabulary(rng)
    zipf = Zipf(vocabulary, rng)
    posts = make_posts(post_count, zipf, rng)
    lines = [stream_line(post) for post in posts]
    all_queries = make_queries(max(QUERY_COUNTS), vocabulary, random.Random(7))
    print(f"{post_count:,} posts, {sum(len(p.text.split()) for p in posts) / post_count:.1f} words per post")

    rows = []
    base_cost = 0.0
    for count in QUERY_COUNTS:
        watched = [(query.key, query) for query in all_queries[:count]]
        index = QueryIndex()
        for key, query in watched:
            index.add(key, query)
        naive_posts = posts[: max(200, min(post_count, NAIVE_CALLS // count))]
        naive_answer = route_naive(watched, naive_posts)
        if route_indexed(index, naive_posts) != naive_answer:
            print(f"index and naive loop disagree with {count} queries", file=sys.stderr)
            return 1
        routed = route_indexed(index, posts)
        matches = sum(map(len, routed)) / post_count
        candidates = sum(len(index.candidates(PostFeatures.of(post))) for post in posts) / post_count

        index_time = best_time(lambda index=index: route_indexed(index, posts), repeats) / post_count
        naive_time = best_time(lambda w=watched, p=naive_posts: route_naive(w, p), repeats) / len(naive_posts)
        decoded_time = best_time(lambda index=index: route_decoded(index, lines), repeats) / post_count
        base_cost = base_cost or index_time
        rows.append((count, index_time, index_time / base_cost, naive_time, decoded_time, candidates, matches))

    decode_only = best_time(lambda: [decode_line(line) for line in lines], repeats) / post_count
    print_table(rows, decode_only, args.quick)
    return 0


def decode_line(line: bytes) -> object:
    from twitterstream.sources.x_payload import decode_stream_line

    return decode_stream_line(line)


def print_table(rows: list[tuple[int, float, float, float, float, float, float]], decode: float, quick: bool) -> None:
    command = "python bench/bench_match.py" + (" --quick" if quick else "")
    print()
    print(f"`{command}` (Python {platform.python_version()}, {platform.machine()}, one core)")
    print()
    print(
        "| watched queries | index posts/s | index cost vs 10 | naive posts/s | index vs naive "
        "| decode + index posts/s | candidates/post | matches/post |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for count, index, ratio, naive, decoded, candidates, matches in rows:
        print(
            f"| {count:,} | {1 / index:,.0f} | {ratio:.2f}x | {1 / naive:,.0f} | {naive / index:,.0f}x "
            f"| {1 / decoded:,.0f} | {candidates:.2f} | {matches:.2f} |"
        )
    print()
    print(f"Decoding alone (`decode_stream_line`): {1 / decode:,.0f} lines/s.")


if __name__ == "__main__":
    sys.exit(main())
