"""The live channel as an audience may see it: what the web's live hubs read instead of the bare store.

A feed reads a batch of the store's events, decides once per event (not once per viewer) whether its
audience sees it, and formats it. The rule is the same everywhere: a ``post`` or ``embed`` event goes out
only if the post is visible on that channel; a ``delete`` goes out if the post is gone from the store or
no longer visible there (so hiding a post on one wall does not remove it from another, or from /results).

:class:`QueryFeed` serves the search results' channels (keyed by query); :class:`WallFeed` serves walls'
channels (keyed ``wall:<slug>``) from their queries' events, with each post's ``pinned`` flag.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence

import orjson

from twitterstream.models import Post
from twitterstream.moderation.screen import Screen
from twitterstream.moderation.walls import PINNED, Wall
from twitterstream.store import Event, EventKind, Store, cursor_order
from twitterstream.web.sse import format_event_or_skip as format_event
from twitterstream.web.sse import sse_message

log = logging.getLogger(__name__)


def _delivered(events: Sequence[Event], withheld: set[str]) -> list[bool]:
    """Whether each event reaches an audience for which the posts of ``withheld`` are not visible."""
    verdicts = []
    for event in events:
        if event.kind == EventKind.DELETE:
            verdicts.append(event.post is None or event.post.key in withheld)
        else:
            verdicts.append(event.post is not None and event.post.key not in withheld)
    return verdicts


def _posts(events: Sequence[Event]) -> list[Post]:
    return list({e.post.key: e.post for e in events if e.post is not None}.values())


class QueryFeed:
    """The search results' live channel, screened (see the module's docstring)."""

    def __init__(self, store: Store, screen: Screen) -> None:
        self.store = store
        self.screen = screen
        self._muted: set[tuple[str, str]] = set()  # (query, cursor) of the last batch's withheld events

    def head_cursor(self, query_key: str) -> str:
        return self.store.head_cursor(query_key)

    def watch(self, query_key: str, query_text: str, holder: str, viewers: int, ttl: float) -> None:
        self.store.watch(query_key, query_text, holder, viewers, ttl)

    def wait_for_events(self, cursors: Mapping[str, str], timeout: float) -> list[Event]:
        events = self.store.wait_for_events(cursors, timeout)
        kept = self.screened(events)
        self._muted = {(e.query_key, e.cursor) for e, ok in zip(events, kept, strict=True) if not ok}
        return events

    def screened(self, events: Sequence[Event]) -> list[bool]:
        """Whether each event reaches the audience."""
        return _delivered(events, self.screen.withheld(_posts(events)))

    def format(self, event: Event) -> bytes | None:
        """The hub's formatter: the SSE message, or None for an event of the last batch that is withheld."""
        if (event.query_key, event.cursor) in self._muted:
            return None
        return format_event(event)

    def backlog(self, events: Sequence[Event]) -> list[bytes]:
        """The messages of events read for a resuming stream."""
        return [t for e, ok in zip(events, self.screened(events), strict=True) if ok and (t := format_event(e))]


def format_wall_post(post: Post, pinned: bool) -> bytes | None:
    """A wall's ``post`` message: the Post JSON with ``pinned`` (None, logged, if it cannot be framed)."""
    try:
        return sse_message("post", orjson.dumps({**post.to_json(), "pinned": pinned}), post.id)
    except ValueError as exc:
        log.warning("wall stream: skipping post %.80r: %s", post.key, exc)
        return None


class WallFeed:
    """Walls' live channels (``wall:<slug>``), read from their queries' events and screened per wall."""

    def __init__(self, store: Store, screen: Screen) -> None:
        self.store = store
        self.screen = screen
        self._pinned: set[tuple[str, str]] = set()  # (channel, post key) pinned, as of the last batch
        self._muted: set[tuple[str, str]] = set()  # (channel, cursor) withheld in the last batch

    def wall(self, channel: str) -> Wall | None:
        record = self.store.get_wall(channel.removeprefix("wall:"))
        return Wall.from_record(record) if record else None

    def head_cursor(self, channel: str) -> str:
        wall = self.wall(channel)
        return self.store.head_cursor(wall.query_key) if wall else "0"

    def watch(self, channel: str, query_text: str, holder: str, viewers: int, ttl: float) -> None:
        wall = self.wall(channel)
        if wall is not None:  # viewers of a wall count for its query (the wall's own lease keeps it watched)
            self.store.watch(wall.query_key, wall.query, holder, viewers, ttl)

    def wait_for_events(self, cursors: Mapping[str, str], timeout: float) -> list[Event]:
        walls = {channel: wall for channel in cursors if (wall := self.wall(channel)) is not None}
        by_query: dict[str, list[str]] = defaultdict(list)
        for channel, wall in walls.items():
            by_query[wall.query_key].append(channel)
        floors = {key: min((cursors[c] for c in chans), key=cursor_order) for key, chans in by_query.items()}
        if not floors:  # every wall watched here is gone: wait as the store would have
            time.sleep(min(timeout, 0.5))
            return []
        events = self.store.wait_for_events(floors, timeout)
        out: list[Event] = []
        muted: set[tuple[str, str]] = set()
        pinned: set[tuple[str, str]] = set()
        for channel, wall in walls.items():
            mine = [e for e in events if e.query_key == wall.query_key and e.order > cursor_order(cursors[channel])]
            if not mine:
                continue
            moved = [Event(e.cursor, channel, e.kind, e.post_key, e.post) for e in mine]
            verdicts, pins = self.screened(wall, moved)
            muted |= {(channel, e.cursor) for e, ok in zip(moved, verdicts, strict=True) if not ok}
            pinned |= {(channel, key) for key in pins}
            out += moved
        self._muted, self._pinned = muted, pinned
        return out

    def screened(self, wall: Wall, events: Sequence[Event]) -> tuple[list[bool], set[str]]:
        """Whether each event reaches the wall's audience, and which of the posts are pinned."""
        posts = _posts(events)
        pins = self.store.marked(wall.slug, PINNED, (p.key for p in posts))
        return _delivered(events, self.screen.withheld_on_wall(wall, posts)), pins

    def format(self, event: Event) -> bytes | None:
        if (event.query_key, event.cursor) in self._muted:
            return None
        if event.kind == EventKind.POST and event.post is not None:
            return format_wall_post(event.post, (event.query_key, event.post_key) in self._pinned)
        return format_event(event)

    def backlog(self, wall: Wall, events: Sequence[Event]) -> list[bytes]:
        """The messages of events read for a resuming wall stream."""
        verdicts, pins = self.screened(wall, events)
        texts = []
        for event, ok in zip(events, verdicts, strict=True):
            if not ok:
                continue
            if event.kind == EventKind.POST and event.post is not None:
                text = format_wall_post(event.post, event.post_key in pins)
            else:
                text = format_event(event)
            if text:
                texts.append(text)
        return texts
