"""Benchmark: the cost per post of the blocklist check, with an empty list and with 1,000 entries.

    .venv/bin/python bench/bench_blocklist.py            # a few seconds

Workload (fixed seed, one core): posts of 8 to 30 random words (a vocabulary of 20,000), one in five with a
link; blocklists of 0, 100 and 1,000 entries split 80% words and two-word phrases, 10% authors, 10% domains.
The figure is ``Blocklist.blocks(post)`` per post (what the live fan-out runs once per event, whatever the
number of viewers); the list is compiled once per change, which is timed separately.
"""

from __future__ import annotations

import random
import string
import time

from twitterstream.models import Author, Post
from twitterstream.moderation import Blocklist

POSTS = 20_000


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 10)))


def _posts(rng: random.Random, vocabulary: list[str]) -> list[Post]:
    from datetime import UTC, datetime

    posts = []
    for n in range(POSTS):
        text = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(8, 30)))
        urls = (f"https://{rng.choice(vocabulary)}.example.com/{n}",) if n % 5 == 0 else ()
        author = Author(str(n), f"user{rng.randint(0, 100_000)}")
        posts.append(
            Post(str(n), "x", "https://x.com/a", text.capitalize() + ".", datetime.now(UTC), author, urls=urls)
        )
    return posts


def _blocklist(rng: random.Random, vocabulary: list[str], size: int) -> Blocklist:
    words = [rng.choice(vocabulary) if n % 2 else f"{_word(rng)} {_word(rng)}" for n in range(size * 8 // 10)]
    authors = [f"@spammer{n}" for n in range(size // 10)]
    domains = [f"{_word(rng)}.com" for _ in range(size // 10)]
    return Blocklist.build(words, authors, domains)


def main() -> None:
    rng = random.Random(7)
    vocabulary = [_word(rng) for _ in range(20_000)]
    posts = _posts(rng, vocabulary)
    print(f"{'entries':>8} {'per post':>10} {'blocked':>8} {'compile':>9}")
    for size in (0, 100, 1000):
        started = time.perf_counter()
        blocklist = _blocklist(rng, vocabulary, size)
        compiled = time.perf_counter() - started
        started = time.perf_counter()
        blocked = sum(blocklist.blocks(p) for p in posts) if blocklist else 0
        per_post = (time.perf_counter() - started) / POSTS
        print(f"{size:>8} {per_post * 1e6:>8.1f} µs {blocked / POSTS:>7.1%} {compiled * 1e3:>6.1f} ms")


if __name__ == "__main__":
    main()
