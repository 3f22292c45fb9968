"""The recent window: the last posts received, indexed by term, so that a newly watched query fills at once.

The index is the query index's presearch turned around: posts by term (``post_terms``) instead of queries by
term. A new query looks up the terms one of which every match contains (``required_terms``) and verifies only
the posts found there, newest first, until it has enough: it costs what its candidates cost, not what the
window holds. Only a query with no such term (``-is:retweet lang:en`` and the like) scans the window.

Candidates are verified a slice at a time, the lock held only to pick a slice, with a yield between slices:
under gevent, a query that must look at many posts does not hold up the requests of everyone else.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left, bisect_right
from typing import NamedTuple

from twitterstream.models import Post
from twitterstream.query import PostFeatures, Query
from twitterstream.query.index import Term, is_exact, post_terms, required_terms

#: Candidates verified between two yields (about 2 to 5 ms of matching).
SLICE = 256
#: A term's list drops the sequence numbers of expired posts once they are this many and at least half of it.
COMPACT_AT = 32


class _Postings(list[int]):
    """The sequence numbers of the window's posts that contain one term, oldest first (expired ones may lead)."""

    __slots__ = ("term",)

    def __init__(self, term: Term) -> None:
        super().__init__()
        self.term = term


class _Entry(NamedTuple):
    arrived: float
    post: Post
    postings: tuple[_Postings, ...]  # the lists this post is in, to leave them when it expires


class RecentWindow:
    """The last posts received (by count and by age), so that a new query fills at once.

    Posts are numbered as they arrive; post number ``n`` sits at ``n % max_posts`` of a ring. A deleted post is
    only marked (the network deletes a few posts a second: no rebuilding of the index).
    """

    def __init__(self, max_posts: int, max_age: float) -> None:
        self._max_posts = max(max_posts, 0)
        self._max_age = max_age
        self._ring: list[_Entry | None] = []
        self._first = 0  # number of the oldest post in the window
        self._next = 0  # number the next post gets
        self._postings: dict[str, dict[str, _Postings]] = {}  # namespace -> value -> posts
        self._keys: dict[str, int] = {}  # post key -> copies in the window
        self._deleted: set[str] = set()
        self._lock = threading.Lock()

    def add(self, post: Post, features: PostFeatures | None = None) -> None:
        """Keep ``post`` (``features``: its features, if the caller has them already), forgetting the oldest."""
        if not self._max_posts:
            return
        terms = post_terms(features if features is not None else PostFeatures(post))
        now = time.monotonic()
        with self._lock:
            self._expire(now, self._max_posts - 1)
            number = self._next
            lists: list[_Postings] = []
            for namespace, values in terms:
                index = self._postings.get(namespace)
                if index is None:
                    index = self._postings[namespace] = {}
                for value in values:
                    postings = index.get(value)
                    if postings is None:
                        postings = index[value] = _Postings((namespace, value))
                    postings.append(number)
                    lists.append(postings)
            entry = _Entry(now, post, tuple(lists))
            if len(self._ring) < self._max_posts:
                self._ring.append(entry)
            else:
                self._ring[number % self._max_posts] = entry
            self._next = number + 1
            self._keys[post.key] = self._keys.get(post.key, 0) + 1

    def remove(self, post_key: str) -> None:
        with self._lock:
            if post_key in self._keys:
                self._deleted.add(post_key)

    def newest_matches(self, query: Query, limit: int) -> list[Post]:
        """Up to ``limit`` posts of the window that match ``query``, newest arrival first."""
        terms = required_terms(query.tree)
        exact = terms is not None and is_exact(query.tree)  # a post holding the term matches: no verifying
        found: list[Post] = []
        below: int | None = None
        while len(found) < limit:
            with self._lock:
                self._expire(time.monotonic(), self._max_posts)
                posts, below = self._slice(terms, self._next if below is None else below)
            for post in posts:
                if exact or query.matches(post):
                    found.append(post)
                    if len(found) >= limit:
                        break
            if below is None:
                break
            time.sleep(0)  # a greenlet switch under gevent; a GIL release otherwise
        return found

    def __len__(self) -> int:
        return self._next - self._first

    def index_size(self) -> int:
        """Post numbers the term lists hold, expired ones not yet dropped included (what the index weighs)."""
        with self._lock:
            return sum(len(postings) for index in self._postings.values() for postings in index.values())

    # -- under the lock ---------------------------------------------------------------------------------
    def _slice(self, terms: frozenset[Term] | None, below: int) -> tuple[list[Post], int | None]:
        """The next candidates numbered under ``below``, newest first, without deleted posts; and where the
        slice after them starts (``None``: there are no more)."""
        low = self._first
        more = False
        if terms is None:
            start = max(low, below - SLICE)
            numbers: list[int] = list(range(below - 1, start - 1, -1))
            more = start > low
        else:
            picked: set[int] = set()
            for namespace, value in terms:
                postings = self._postings.get(namespace, {}).get(value)
                if postings is None:
                    continue
                first = bisect_left(postings, low)
                end = bisect_left(postings, below)
                begin = max(first, end - SLICE)
                more = more or begin > first
                picked.update(postings[begin:end])
            numbers = sorted(picked, reverse=True)
            if len(numbers) > SLICE:
                del numbers[SLICE:]
                more = True
        ring, size, deleted = self._ring, self._max_posts, self._deleted
        posts = [entry.post for number in numbers if (entry := ring[number % size]) is not None]
        if deleted:
            posts = [post for post in posts if post.key not in deleted]
        return posts, (numbers[-1] if more and numbers else None)

    def _expire(self, now: float, keep: int) -> None:
        """Forget the oldest posts until at most ``keep`` are left and none is older than the maximum age."""
        cutoff = now - self._max_age
        while self._first < self._next:
            slot = self._first % self._max_posts
            entry = self._ring[slot]
            assert entry is not None  # every number from _first to _next has its entry
            if self._next - self._first <= keep and entry.arrived >= cutoff:
                return
            self._forget(self._first, entry)
            self._ring[slot] = None
            self._first += 1

    def _forget(self, number: int, entry: _Entry) -> None:
        for postings in entry.postings:
            if postings[-1] == number:  # the term's newest post leaves: all of its posts have left
                namespace, value = postings.term
                del self._postings[namespace][value]
                continue
            gone = bisect_right(postings, number)
            if gone >= COMPACT_AT and 2 * gone >= len(postings):
                del postings[:gone]
        key = entry.post.key
        left = self._keys.pop(key) - 1
        if left:
            self._keys[key] = left
        else:
            self._deleted.discard(key)
