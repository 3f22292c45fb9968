"""The X cost guard: how many posts the project has read this month, against which cap, and what it costs.

X bills every post read (stream deliveries and recent-search results) and stops a project at its monthly
cap. The guard starts from X's own figures (``GET /2/usage/tweets``: ``project_usage``, ``project_cap``,
``cap_reset_day``), adds the posts read since, and caps at the smaller of X's cap and the operator's own
(``X_MONTHLY_POST_CAP``). At 80% it warns; at the cap reading pauses until the cap's reset day.
"""

from __future__ import annotations

import calendar
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

import httpx

from twitterstream.sources.errors import AuthRejected, SourceError

log = logging.getLogger(__name__)

#: The share of the cap at which the guard warns.
WARN_AT = 0.8


class UsageState(StrEnum):
    OK = "ok"
    WARNING = "warning"  # 80% of the cap read
    PAUSED = "paused"  # the cap is reached: no stream, no search until the reset day


@dataclass(frozen=True)
class XUsage:
    """X's figures for the project; None where X's answer lacked a field or had an unreadable one."""

    project_usage: int | None = None
    project_cap: int | None = None
    cap_reset_day: int | None = None


def parse_usage(answer: Mapping[str, Any]) -> XUsage:
    """Read the ``data`` of a ``GET /2/usage/tweets`` answer (counts are numbers written as strings)."""
    data = answer.get("data")
    if not isinstance(data, Mapping):
        return XUsage()
    day = _count(data.get("cap_reset_day"))
    return XUsage(
        project_usage=_count(data.get("project_usage")),
        project_cap=_count(data.get("project_cap")),
        cap_reset_day=day if day is not None and 1 <= day <= 31 else None,
    )


def next_reset(now: datetime, reset_day: int) -> datetime:
    """The next start (00:00 UTC) of the cap's reset day after ``now``.

    A reset day past a month's end (31 in April) falls on that month's last day."""
    year, month = now.year, now.month
    while True:
        day = min(reset_day, calendar.monthrange(year, month)[1])
        moment = datetime(year, month, day, tzinfo=UTC)
        if moment > now:
            return moment
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def utc_now() -> datetime:
    return datetime.now(UTC)


class CostGuard:
    """The month's post reads against the cap (thread-safe: the stream, searches and the usage check share it)."""

    def __init__(
        self,
        own_cap: int | None = None,
        price_per_post: float = 0.005,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.own_cap = own_cap
        self.price_per_post = price_per_post
        self._clock = clock
        self._lock = threading.Lock()
        self._x_usage = 0  # X's project_usage at the last check (0 before any, or after a reset)
        self._x_cap: int | None = None
        self._reset_day = 1  # X's cap_reset_day; the calendar month until X says otherwise
        self._read_since = 0  # posts read since X's figure
        self._reset_at = next_reset(clock(), self._reset_day)
        self._checked = False

    # -- what changes it ----------------------------------------------------------------------------
    def update(self, usage: XUsage) -> None:
        """X's figures just read: they replace the count so far (missing ones keep what was known)."""
        with self._lock:
            if usage.cap_reset_day is not None:
                self._reset_day = usage.cap_reset_day
            self._reset_at = next_reset(self._clock(), self._reset_day)
            if usage.project_cap is not None:
                self._x_cap = usage.project_cap
            if usage.project_usage is not None:
                self._x_usage = usage.project_usage
                self._read_since = 0
            self._checked = True

    def count(self, posts: int) -> None:
        """Posts just read from X (delivered by the stream or returned by a search)."""
        with self._lock:
            self._roll_over()
            self._read_since += posts

    # -- what it says ---------------------------------------------------------------------------------
    @property
    def checked(self) -> bool:
        """True once X's figures were read (before that, only the posts read by this process count)."""
        return self._checked

    @property
    def posts_read(self) -> int:
        """Posts read this month: X's figure plus what was read since."""
        with self._lock:
            self._roll_over()
            return self._x_usage + self._read_since

    @property
    def cap(self) -> int | None:
        """The smaller of X's project cap and the operator's own; None when neither is known."""
        caps = [c for c in (self._x_cap, self.own_cap) if c is not None]
        return min(caps) if caps else None

    @property
    def resumes_at(self) -> datetime:
        """When the month's count starts again (the cap's next reset day, 00:00 UTC)."""
        with self._lock:
            self._roll_over()
            return self._reset_at

    @property
    def estimated_spend(self) -> float:
        """The month's reads at ``X_PRICE_PER_POST``, in US dollars."""
        return self.posts_read * self.price_per_post

    def now(self) -> datetime:
        """The guard's clock (UTC; tests move it)."""
        return self._clock()

    def state(self) -> UsageState:
        read, cap = self.posts_read, self.cap
        if cap is None:
            return UsageState.OK
        if read >= cap:
            return UsageState.PAUSED
        return UsageState.WARNING if read >= WARN_AT * cap else UsageState.OK

    def allow_read(self) -> bool:
        """False while the cap is reached: no stream connection, no search."""
        return self.state() != UsageState.PAUSED

    def words(self) -> str:
        """What the status line says: the pause, the warning, or nothing while well under the cap."""
        read, cap, state = self.posts_read, self.cap, self.state()
        if cap is None or state == UsageState.OK:
            return ""
        figures = f"{read:,} of {cap:,}"
        if state == UsageState.PAUSED:
            return (
                f"X reading is paused: the monthly post cap is reached ({figures}); "
                f"it resumes on {day_words(self.resumes_at)}"
            )
        return f"{int(100 * read / cap)}% of the monthly post cap read ({figures})"

    def _roll_over(self) -> None:
        """Past the reset day the month starts again at 0 (until X's next figures say otherwise)."""
        now = self._clock()
        if now >= self._reset_at:
            self._x_usage = 0
            self._read_since = 0
            self._reset_at = next_reset(now, self._reset_day)


def day_words(moment: datetime) -> str:
    """``1 October 2026 (UTC)``: a date nobody reads the wrong way round."""
    return f"{moment.day} {moment:%B %Y} (UTC)"


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


class UsageWatch:
    """The X source's side of the guard: reads X's figures, counts reads, and says what changed.

    It tells the sink the figures (metrics, status page), logs each crossing of 80% and of the cap once,
    and calls ``on_pause`` when the cap is reached (the source closes its stream) and ``on_change`` when
    the guard's state changes (the source reports it and wakes its stream loop).
    """

    def __init__(
        self,
        guard: CostGuard,
        read_usage: Callable[[], Mapping[str, Any]],
        sink: UsageSink,
        on_pause: Callable[[], None],
        on_change: Callable[[], None],
    ) -> None:
        self.guard = guard
        self._read_usage = read_usage
        self._sink = sink
        self._on_pause = on_pause
        self._on_change = on_change
        self._lock = threading.Lock()
        self._state = UsageState.OK
        self._warning = ""
        self._percent = -1
        self.checked = threading.Event()  # set after the first check, answered or not

    def check(self) -> None:
        """Read X's figures now; a failure is logged and the count goes on from what is known, except a
        refused token (:class:`AuthRejected`, raised: every other call would be refused too)."""
        try:
            self.guard.update(parse_usage(self._read_usage()))
        except AuthRejected:
            raise
        except (SourceError, httpx.HTTPError) as exc:
            log.warning("cannot read X's usage figures (%s): counting the posts read by this process", exc)
        finally:
            self.checked.set()
        self.changed()

    def count(self, posts: int) -> None:
        """Posts just read from X: billed, counted, and maybe the cap reached."""
        if posts:
            self._sink.count_reads(posts)
            self.guard.count(posts)
            self.changed()

    @property
    def warning(self) -> str:
        """The 80% warning in words, refreshed when the share read moves by a whole percent."""
        return self._warning

    def seconds_to_next_check(self, interval: float) -> float:
        """Until the next usage check: the interval, or sooner when the cap resets before it."""
        if self.guard.allow_read():
            return interval
        until_reset = (self.guard.resumes_at - self.guard.now()).total_seconds()
        return max(0.0, min(interval, until_reset + 1.0))

    def changed(self) -> None:
        """Compare the guard with what was said last, and say what changed (sink, log, source)."""
        guard = self.guard
        state, read, cap = guard.state(), guard.posts_read, guard.cap
        percent = int(100 * read / cap) if cap else 0
        with self._lock:
            before, self._state = self._state, state
            figures_moved = percent != self._percent or state != before
            self._percent = percent
            if figures_moved:
                self._warning = guard.words() if state == UsageState.WARNING else ""
        self._sink.set_usage(read, cap or 0, guard.estimated_spend)
        if state == before and not (figures_moved and state == UsageState.WARNING):
            return
        if state != before:
            if state == UsageState.PAUSED:
                log.warning("%s", guard.words())
            elif state == UsageState.WARNING and before == UsageState.OK:
                log.warning("X reading: %s", guard.words())
            elif before == UsageState.PAUSED:
                log.warning("X reading resumes: %s of the monthly post cap read", f"{read:,}")
        if state == UsageState.PAUSED and before != UsageState.PAUSED:
            self._on_pause()
        self._on_change()


class UsageSink(Protocol):
    """What the guard tells (the source's sink)."""

    def count_reads(self, posts: int) -> None: ...

    def set_usage(self, posts_read: int, post_cap: int, estimated_spend_usd: float) -> None: ...
