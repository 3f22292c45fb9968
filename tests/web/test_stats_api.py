"""GET /api/v1/stats: exact counts of what arrived for a query, its window's bounds, and 400s with reasons."""

from __future__ import annotations

import pytest

from harness import Harness
from helpers import make_post
from twitterstream.moderation.screen import BLOCKLIST_STATE
from twitterstream.store import stats as stats_module

NOON = 29_000_000 * 60 + 30.0


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stats_module, "clock", lambda: NOON)


def _save_mix(site: Harness) -> None:
    posts = [
        make_post(1, "a", username="ann", hashtags=("NYC", "pizza"), lang="en", media_types=("photo",)),
        make_post(2, "b", username="bob", hashtags=("nyc",), lang="en"),
        make_post(3, "c", username="ann", hashtags=("Nyc",), lang="fr", media_urls=("https://img.example/3.jpg",)),
        make_post(4, "d", username="cy"),
    ]
    site.store.save_matches([(post, ["cats"]) for post in posts])


def test_stats_counts_the_window(store_site: Harness) -> None:
    _save_mix(store_site)
    answer = store_site.client.get("/api/v1/stats?q=cats&minutes=5")
    assert answer.status_code == 200
    assert answer.get_json() == {
        "query": "cats",
        "minutes": 5,
        "posts": 4,
        "per_minute": [0, 0, 0, 0, 4],
        "top_hashtags": [{"tag": "nyc", "count": 3}, {"tag": "pizza", "count": 1}],
        "top_authors": [
            {"username": "ann", "count": 2},
            {"username": "bob", "count": 1},
            {"username": "cy", "count": 1},
        ],
        "languages": [{"lang": "en", "count": 2}, {"lang": "fr", "count": 1}, {"lang": "und", "count": 1}],
        "media_share": 0.5,
    }


def test_the_window_is_an_hour_unless_asked_and_at_most_a_day(store_site: Harness) -> None:
    body = store_site.client.get("/api/v1/stats?q=cats").get_json()
    assert body["minutes"] == 60
    assert body["per_minute"] == [0] * 60
    assert body["posts"] == 0
    assert body["media_share"] == 0.0
    assert body["top_hashtags"] == body["top_authors"] == body["languages"] == []
    assert len(store_site.client.get("/api/v1/stats?q=cats&minutes=1440").get_json()["per_minute"]) == 1440
    assert store_site.client.get("/api/v1/stats?q=cats&minutes=1").get_json()["per_minute"] == [0]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ("", "the q parameter is required"),
        ("q=", "Type something to watch"),
        ("q=(cats", ""),
        ("q=cats&minutes=0", "minutes must be a whole number from 1 to 1440 (got '0')"),
        ("q=cats&minutes=1441", "minutes must be a whole number from 1 to 1440"),
        ("q=cats&minutes=-5", "minutes must be a whole number"),
        ("q=cats&minutes=1e3", "minutes must be a whole number"),
        ("q=cats&minutes=%C2%B2", "minutes must be a whole number"),
        ("q=cats&minutes=", "minutes must be a whole number"),
    ],
)
def test_bad_parameters_answer_400_with_the_reason(store_site: Harness, params: str, reason: str) -> None:
    answer = store_site.client.get(f"/api/v1/stats?{params}")
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert reason in error["message"]
    assert error["message"]


def test_blocked_authors_and_words_are_not_named(store_site: Harness) -> None:
    _save_mix(store_site)
    store_site.store.set_state(BLOCKLIST_STATE, {"words": ["PIZZA"], "authors": ["@Ann"], "domains": []})
    body = store_site.client.get("/api/v1/stats?q=cats&minutes=5").get_json()
    assert body["posts"] == 4  # what arrived still counts
    assert [t["tag"] for t in body["top_hashtags"]] == ["nyc"]
    assert [a["username"] for a in body["top_authors"]] == ["bob", "cy"]


def test_top_lists_hold_ten_most_counted_first(store_site: Harness) -> None:
    posts = [make_post(i, username=f"user{i:02d}", hashtags=tuple(f"t{j}" for j in range(i))) for i in range(1, 16)]
    store_site.store.save_matches([(post, ["cats"]) for post in posts])
    body = store_site.client.get("/api/v1/stats?q=cats&minutes=1").get_json()
    assert [t["tag"] for t in body["top_hashtags"]] == [f"t{j}" for j in range(10)]
    assert body["top_hashtags"][0]["count"] == 15
    assert len(body["top_authors"]) == 10
    assert body["top_authors"][0] == {"username": "user01", "count": 1}  # equal counts: by name
