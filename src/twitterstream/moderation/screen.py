"""What an audience may see: the blocklist, hidden posts, sensitive posts, and a wall's own rules.

Every reader of posts (the results API and page, a stream's backlog, the live fan-out) asks a
:class:`Screen`, a batch of posts at a time: one read of the blocklist (compiled again only when it
changed) and one read of the marks per batch, however many people look.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from twitterstream.models import Post
from twitterstream.moderation.blocklist import Blocklist
from twitterstream.moderation.walls import APPROVED, HIDDEN, PINNED, REJECTED, Wall
from twitterstream.store import Store

#: The state name under which the blocklist is stored (its JSON form).
BLOCKLIST_STATE = "moderation:blocklist"
#: The most posts a read looks through to find ``limit`` visible ones.
MAX_SCAN = 2000


class Screen:
    """Decides, for a batch of posts, which ones an audience must not see."""

    def __init__(self, store: Store, *, show_sensitive: bool = False) -> None:
        self.store = store
        self.show_sensitive = show_sensitive
        self._lock = threading.Lock()
        self._raw: Any = None
        self._blocklist = Blocklist()

    def blocklist(self) -> Blocklist:
        """The stored blocklist (compiled once per change, not per read)."""
        raw = self.store.get_state(BLOCKLIST_STATE)
        with self._lock:
            if raw != self._raw:
                self._blocklist = Blocklist.from_json(raw) if raw else Blocklist()
                self._raw = raw
            return self._blocklist

    def withheld(self, posts: Sequence[Post]) -> set[str]:
        """Keys of the posts no page shows: hidden, blocked, or sensitive (unless sensitive posts are shown)."""
        if not posts:
            return set()
        blocklist = self.blocklist()
        withheld = {
            p.key for p in posts if (p.sensitive and not self.show_sensitive) or (blocklist and blocklist.blocks(p))
        }
        return withheld | self.store.marked("", HIDDEN, (p.key for p in posts))

    def withheld_on_wall(self, wall: Wall, posts: Sequence[Post]) -> set[str]:
        """Keys of the posts the wall does not show: :meth:`withheld`, its own rules, rejected, not approved."""
        if not posts:
            return set()
        withheld = self.withheld(posts) | {p.key for p in posts if not wall.shows(p)}
        keys = [p.key for p in posts]
        if wall.approval:
            approved = self.store.marked(wall.slug, APPROVED, keys) | self.store.marked(wall.slug, PINNED, keys)
            withheld |= set(keys) - approved
        else:
            withheld |= self.store.marked(wall.slug, REJECTED, keys)
        return withheld

    def visible(self, posts: Sequence[Post]) -> list[Post]:
        hidden = self.withheld(posts)
        return [p for p in posts if p.key not in hidden]

    def screened(self, posts: Iterable[Post], batch: int) -> Iterator[Post]:
        """The visible ones of a long run of posts (an export), checked ``batch`` at a time."""
        chunk: list[Post] = []
        for post in posts:
            chunk.append(post)
            if len(chunk) >= batch:
                yield from self.visible(chunk)
                chunk = []
        yield from self.visible(chunk)

    def latest(self, query_key: str, limit: int) -> list[Post]:
        """The newest ``limit`` visible matches of a query, newest first."""
        return latest_kept(self.store, query_key, limit, self.visible)

    def wall_latest(self, wall: Wall, limit: int) -> list[tuple[Post, bool]]:
        """A wall's posts with whether each is pinned: pinned first (latest pin first), then newest first."""
        pinned_keys = list(reversed(self.store.marks(wall.slug, PINNED)))
        pinned = [p for p in map(self.store.get_post, pinned_keys) if p is not None]
        hidden = self.withheld_on_wall(wall, pinned)
        shown = [(p, True) for p in pinned if p.key not in hidden][:limit]
        skip = {p.key for p, _ in shown}

        def keep(posts: Sequence[Post]) -> list[Post]:
            withheld = self.withheld_on_wall(wall, posts)
            return [p for p in posts if p.key not in withheld and p.key not in skip]

        rest = latest_kept(self.store, wall.query_key, limit - len(shown), keep) if limit > len(shown) else []
        return shown + [(p, False) for p in rest]

    def queue(self, wall: Wall, limit: int = 500) -> list[Post]:
        """An approval wall's waiting posts, oldest first: matched, visible, neither approved nor rejected
        (none on a wall without approval: its matches show at once)."""
        if not wall.approval:
            return []
        posts = [p for p in self.store.latest(wall.query_key, MAX_SCAN) if wall.shows(p)]
        keys = [p.key for p in posts]
        decided = (
            self.withheld(posts)
            | self.store.marked(wall.slug, APPROVED, keys)
            | self.store.marked(wall.slug, REJECTED, keys)
            | self.store.marked(wall.slug, PINNED, keys)
        )
        return [p for p in reversed(posts) if p.key not in decided][:limit]


def latest_kept(store: Store, query_key: str, limit: int, keep: Callable[[Sequence[Post]], list[Post]]) -> list[Post]:
    """The newest ``limit`` matches that ``keep`` keeps, newest first (reads more while too many are withheld)."""
    if limit <= 0:
        return []
    ask = limit
    while True:
        posts = store.latest(query_key, ask)
        kept = keep(posts)
        if len(kept) >= limit or len(posts) < ask or ask >= MAX_SCAN:
            return kept[:limit]
        ask = min(ask * 4, MAX_SCAN)
