"""Paging the results API: ``before=<post id>`` walks every stored post of a query once, newest first."""

from __future__ import annotations

import pytest

from harness import Harness
from helpers import make_post


def test_walking_the_results_with_the_last_id_of_each_page_visits_every_post_once(store_site: Harness) -> None:
    # Several posts share a second: a walk by time alone would skip or repeat them.
    posts = [make_post(n, "cats", seconds=1 + n // 4) for n in range(1, 26)]
    posts.append(make_post("did:plc:z72i7hdynmk6r22z27h6tvur/3kb2", "cats", source="bluesky", seconds=3))
    store_site.store.save_matches([(post, ["cats"]) for post in posts])
    client = store_site.client
    seen: list[str] = []
    pages = 0
    answer = client.get("/api/v1/results?q=cats&limit=7").get_json()
    while answer["posts"]:
        pages += 1
        seen += [p["id"] for p in answer["posts"]]
        answer = client.get("/api/v1/results", query_string={"q": "cats", "limit": 7, "before": seen[-1]}).get_json()
    assert pages == 4
    assert seen == [p.id for p in store_site.store.latest("cats", 100)]
    assert sorted(seen) == sorted(p.id for p in posts)


@pytest.mark.parametrize(
    ("before", "message"),
    [
        ("", "before must be the id of a post of these results"),
        ("12 34", "before must be the id of a post of these results"),
        ("1\x00", "before must be the id of a post of these results"),
        ("9" * 300, "before must be the id of a post of these results"),
        ("12345", "before='12345' is not a stored post of 'cats'"),
    ],
)
def test_a_malformed_or_unknown_cursor_answers_400(store_site: Harness, before: str, message: str) -> None:
    store_site.store.save_post(make_post(1, "cats"), ["cats"])
    answer = store_site.client.get("/api/v1/results", query_string={"q": "cats", "before": before})
    assert answer.status_code == 400
    assert message in answer.get_json()["error"]["message"]
