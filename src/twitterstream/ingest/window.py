"""The recent window: the last posts received, so that a newly watched query fills at once."""

from __future__ import annotations

import threading
import time
from collections import deque

from twitterstream.models import Post
from twitterstream.query import Query


class RecentWindow:
    """The last posts received (by count and by age), so that a new query fills at once.

    A deleted post is only marked (the network deletes a few posts a second: no rebuilding of the window).
    """

    def __init__(self, max_posts: int, max_age: float) -> None:
        self._posts: deque[tuple[float, Post]] = deque()
        self._max_posts = max_posts
        self._max_age = max_age
        self._keys: dict[str, int] = {}  # post key -> copies in the window
        self._deleted: set[str] = set()
        self._lock = threading.Lock()

    def add(self, post: Post) -> None:
        now = time.monotonic()
        with self._lock:
            self._posts.append((now, post))
            self._keys[post.key] = self._keys.get(post.key, 0) + 1
            while self._posts and (len(self._posts) > self._max_posts or self._posts[0][0] < now - self._max_age):
                self._forget(self._posts.popleft()[1].key)

    def _forget(self, key: str) -> None:
        left = self._keys.pop(key) - 1
        if left:
            self._keys[key] = left
        else:
            self._deleted.discard(key)

    def remove(self, post_key: str) -> None:
        with self._lock:
            if post_key in self._keys:
                self._deleted.add(post_key)

    def newest_matches(self, query: Query, limit: int) -> list[Post]:
        """Up to ``limit`` posts of the window that match ``query``, newest arrival first."""
        with self._lock:
            posts = [post for _, post in self._posts]
            deleted = set(self._deleted)
        found: list[Post] = []
        for post in reversed(posts):
            if post.key not in deleted and query.matches(post):
                found.append(post)
                if len(found) >= limit:
                    break
        return found

    def __len__(self) -> int:
        return len(self._posts)
