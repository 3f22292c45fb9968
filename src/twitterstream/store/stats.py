"""Live stats of a query, counted exactly by arrival minute: what both stores keep and how they read it.

When a post newly matches a query, the store adds one to that query's counters of the current minute: the
posts, the posts with media, and each of the post's hashtags (folded to lower case), its author and its
language. A window of N minutes is the current minute and the N - 1 before it; reading it sums N minutes of
counters, so its cost grows with the minutes and the distinct hashtags, authors and languages in them, never
with the whole store. Counters are kept :data:`KEEP_MINUTES` and then dropped (SQLite: ``trim``; Redis: key
expiry).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from twitterstream.models import Post

#: The longest window a stats read may ask for, and how long counters are kept: a day.
KEEP_MINUTES = 1440
#: A language a post does not state (BCP 47 "undetermined", as X itself says).
UNKNOWN_LANG = "und"

# The counters of one minute, by name: "n" posts, "m" posts with media, "t:" a hashtag, "a:" an author,
# "l:" a language. One string per counter lets both stores keep a minute as one flat map.
POSTS = "n"
MEDIA = "m"
TAG = "t:"
AUTHOR = "a:"
LANG = "l:"


def clock() -> float:
    """Seconds since the epoch: the arrival time stats are counted by (tests replace it)."""
    return time.time()


def current_minute() -> int:
    """The minute (since the epoch) that a post arriving now is counted in."""
    return int(clock() // 60)


def counters_of(post: Post) -> list[str]:
    """The counters one post adds one to: each hashtag, author and language once, however often written."""
    names = [POSTS]
    if post.media_types or post.media_urls:
        names.append(MEDIA)
    names += [TAG + tag for tag in dict.fromkeys(t.lower() for t in post.hashtags if t)]
    names.append(AUTHOR + (post.author.username or post.author.id))
    names.append(LANG + (post.lang or UNKNOWN_LANG))
    return names


@dataclass(slots=True)
class WindowCounts:
    """Everything counted for a query over a window of minutes."""

    minutes: int
    per_minute: list[int]  # posts per minute, oldest first; the last is the current minute
    media: int = 0
    hashtags: Counter[str] = field(default_factory=Counter)
    authors: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)

    @property
    def posts(self) -> int:
        return sum(self.per_minute)

    def add(self, index: int, counters: dict[str, int]) -> None:
        """Add one minute's counters (``index`` 0 is the oldest minute of the window)."""
        for name, count in counters.items():
            if name == POSTS:
                self.per_minute[index] += count
            elif name == MEDIA:
                self.media += count
            elif name.startswith(TAG):
                self.hashtags[name[len(TAG) :]] += count
            elif name.startswith(AUTHOR):
                self.authors[name[len(AUTHOR) :]] += count
            elif name.startswith(LANG):
                self.languages[name[len(LANG) :]] += count
