"""The X cost guard's arithmetic: caps, reset dates at month ends, the words, X's answer with fields missing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helpers import RecordingSink
from twitterstream.config import ConfigError, load_settings
from twitterstream.sources.x_usage import CostGuard, UsageState, UsageWatch, XUsage, next_reset, parse_usage


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "day", "expected"),
    [
        ("2026-03-10T12:00", 15, "2026-03-15"),  # later this month
        ("2026-03-20T12:00", 15, "2026-04-15"),  # next month
        ("2026-03-15T00:00", 15, "2026-04-15"),  # the reset moment itself has passed: the next one
        ("2026-03-14T23:59", 15, "2026-03-15"),
        ("2026-01-31T10:00", 31, "2026-02-28"),  # no 31 February: its last day
        ("2028-02-01T10:00", 30, "2028-02-29"),  # a leap year
        ("2026-02-28T10:00", 31, "2026-03-31"),  # the short month's reset has passed: back to the 31st
        ("2026-04-30T10:00", 31, "2026-05-31"),
        ("2026-12-20T10:00", 5, "2027-01-05"),  # over the year's end
        ("2026-12-31T23:00", 1, "2027-01-01"),
    ],
)
def test_next_reset_is_the_next_start_of_the_reset_day(now: str, day: int, expected: str) -> None:
    assert next_reset(at(now), day) == at(expected)


def test_the_cap_is_the_smaller_of_xs_and_ours() -> None:
    guard = CostGuard(own_cap=1_000)
    assert guard.cap == 1_000  # before X answers, ours alone
    guard.update(XUsage(project_usage=10, project_cap=2_000_000, cap_reset_day=1))
    assert guard.cap == 1_000
    guard.update(XUsage(project_cap=500))
    assert guard.cap == 500
    assert CostGuard().cap is None
    assert CostGuard().state() == UsageState.OK


def test_reads_since_xs_figure_are_added_and_a_new_figure_replaces_them() -> None:
    guard = CostGuard(own_cap=100, price_per_post=0.01)
    guard.update(XUsage(project_usage=70, project_cap=1_000))
    guard.count(5)
    assert guard.posts_read == 75
    assert guard.estimated_spend == pytest.approx(0.75)
    guard.update(XUsage(project_usage=76))  # X's own figure includes what we read
    assert guard.posts_read == 76


def test_states_and_words_at_80_and_100_percent() -> None:
    clock = Clock(at("2026-09-20T08:00"))
    guard = CostGuard(own_cap=10_000, clock=clock)
    guard.update(XUsage(project_usage=7_999, project_cap=3_000_000, cap_reset_day=1))
    assert (guard.state(), guard.words()) == (UsageState.OK, "")
    guard.count(101)
    assert guard.state() == UsageState.WARNING
    assert guard.words() == "81% of the monthly post cap read (8,100 of 10,000)"
    assert guard.allow_read()
    guard.count(1_900)
    assert guard.state() == UsageState.PAUSED
    assert not guard.allow_read()
    assert guard.words() == (
        "X reading is paused: the monthly post cap is reached (10,000 of 10,000); it resumes on 1 October 2026 (UTC)"
    )


def test_past_the_reset_day_reading_resumes_by_itself() -> None:
    clock = Clock(at("2026-09-20T08:00"))
    guard = CostGuard(clock=clock)
    guard.update(XUsage(project_usage=500, project_cap=500, cap_reset_day=21))
    assert guard.resumes_at == at("2026-09-21")
    assert not guard.allow_read()
    clock.now = at("2026-09-21T00:00") + timedelta(seconds=1)
    assert guard.allow_read()
    assert guard.posts_read == 0
    assert guard.resumes_at == at("2026-10-21")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            {"data": {"project_usage": "1500", "project_cap": "3000000", "cap_reset_day": 19}},
            XUsage(1500, 3_000_000, 19),
        ),
        ({"data": {"project_usage": "12"}}, XUsage(12, None, None)),  # fields left out
        ({"data": {"project_cap": "lots", "project_usage": "-3", "cap_reset_day": 40}}, XUsage()),  # unreadable
        ({"data": {"project_cap": 10, "cap_reset_day": "7"}}, XUsage(None, 10, 7)),  # numbers as numbers
        ({"errors": [{"title": "Forbidden"}]}, XUsage()),
        ({"data": []}, XUsage()),
    ],
)
def test_parse_usage_tolerates_missing_and_odd_fields(answer: dict[str, object], expected: XUsage) -> None:
    assert parse_usage(answer) == expected


def test_missing_figures_keep_what_was_known() -> None:
    guard = CostGuard()
    guard.update(XUsage(project_usage=90, project_cap=100, cap_reset_day=3))
    guard.update(XUsage())
    assert (guard.posts_read, guard.cap) == (90, 100)


class UsageSink(RecordingSink):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.usage: tuple[int, int, float] | None = None

    def count_reads(self, posts: int) -> None:
        self.reads += posts

    def set_usage(self, posts_read: int, post_cap: int, estimated_spend_usd: float) -> None:
        self.usage = (posts_read, post_cap, estimated_spend_usd)


def test_usage_watch_logs_each_crossing_once_and_pauses_once(caplog: pytest.LogCaptureFixture) -> None:
    sink = UsageSink()
    pauses: list[int] = []
    changes: list[UsageState] = []
    guard = CostGuard(own_cap=100, price_per_post=0.5)
    watch = UsageWatch(
        guard,
        lambda: {"data": {"project_usage": "70", "project_cap": "1000", "cap_reset_day": 1}},
        sink,
        lambda: pauses.append(1),
        lambda: changes.append(guard.state()),
    )
    watch.check()
    assert watch.checked.is_set()
    for _ in range(40):
        watch.count(1)
    assert sink.reads == 40
    assert sink.usage == (110, 100, 55.0)
    assert pauses == [1]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "X reading: 80% of the monthly post cap read (80 of 100)",
        "X reading is paused: the monthly post cap is reached (100 of 100); it resumes on "
        + f"{guard.resumes_at.day} {guard.resumes_at:%B %Y} (UTC)",
    ]
    # one change per whole percent in the warning band, one for the pause
    assert changes.count(UsageState.WARNING) == 20 and changes.count(UsageState.PAUSED) == 1


def test_a_failed_usage_check_keeps_counting(caplog: pytest.LogCaptureFixture) -> None:
    def refuse() -> dict[str, object]:
        import httpx

        raise httpx.ConnectError("connection refused")

    guard = CostGuard(own_cap=3)
    watch = UsageWatch(guard, refuse, UsageSink(), lambda: None, lambda: None)
    watch.check()
    assert watch.checked.is_set()
    assert "cannot read X's usage figures" in caplog.text
    watch.count(3)
    assert not guard.allow_read()


def test_settings_of_the_cost_guard() -> None:
    settings = load_settings({"X_MONTHLY_POST_CAP": "10,000", "X_PRICE_PER_POST": "0.01"}, env_file=None)
    assert (settings.x_monthly_post_cap, settings.x_price_per_post, settings.x_usage_check_seconds) == (
        10_000,
        0.01,
        900.0,
    )
    assert load_settings({}, env_file=None).x_monthly_post_cap is None
    with pytest.raises(ConfigError, match="X_MONTHLY_POST_CAP"):
        load_settings({"X_MONTHLY_POST_CAP": "1.5"}, env_file=None)
    with pytest.raises(ConfigError, match="X_USAGE_CHECK_SECONDS"):
        load_settings({"X_USAGE_CHECK_SECONDS": "5"}, env_file=None)
