"""The fake X's ``GET /2/usage/tweets``: the spec's shape, and a count of the posts it delivered and returned."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from test_fake_x import validate_response

from fakes.x_api import FakeX
from fakes.x_posts import make_post
from fakes.x_usage import USAGE_PATH, UsageMeter

TOKEN = "test-token"


@pytest.fixture
def fake() -> Iterator[FakeX]:
    with FakeX(bearer_token=TOKEN, usage=UsageMeter(project_cap=10_000, project_usage=40, cap_reset_day=19)) as f:
        yield f


def client(fake: FakeX) -> httpx.Client:
    return httpx.Client(base_url=fake.base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)


def test_usage_answers_the_specs_shape_with_counts_as_strings(fake: FakeX) -> None:
    with client(fake) as http:
        answer = http.get(USAGE_PATH)
        everything = http.get(
            USAGE_PATH,
            params={
                "days": "3",
                "usage.fields": ",".join(
                    sorted(
                        [
                            "project_usage",
                            "project_cap",
                            "cap_reset_day",
                            "daily_project_usage",
                            "daily_client_app_usage",
                        ]
                    )
                ),
            },
        )
    assert answer.status_code == 200
    validate_response(USAGE_PATH, "GET", answer)
    data = answer.json()["data"]
    assert (data["project_usage"], data["project_cap"], data["cap_reset_day"]) == ("40", "10000", 19)
    assert set(data) == {"project_id", "project_cap", "project_usage", "cap_reset_day"}
    validate_response(USAGE_PATH, "GET", everything)
    full = everything.json()["data"]
    assert len(full["daily_project_usage"]["usage"]) == 3
    assert full["daily_client_app_usage"][0]["usage_result_count"] == 3
    assert answer.headers["x-rate-limit-limit"] == "50"


def test_usage_counts_stream_deliveries_and_search_results(fake: FakeX) -> None:
    fake.add_rule("cats")
    for n in range(3):
        post, user = make_post(None, f"cats {n}")
        fake.publish(post, users=[user], deliver=False)
    with client(fake) as http:
        found = http.get("/2/tweets/search/recent", params={"query": "cats", "max_results": "10"})
        assert found.json()["meta"]["result_count"] == 3
        assert fake.usage.posts_delivered == 3
        with http.stream("GET", "/2/tweets/search/stream"):
            fake.wait_for_connections(1)
            post, user = make_post(None, "cats again")
            fake.publish(post, users=[user])
            fake.wait_for(lambda: fake.messages_sent == 1)
        usage = http.get(USAGE_PATH).json()["data"]
    assert fake.usage.posts_delivered == 4
    assert usage["project_usage"] == "44"
    fake.usage.set(project_usage=0)  # the month starts again at X
    assert fake.usage.posts_delivered == 0


@pytest.mark.parametrize(
    ("params", "parameter"),
    [({"days": "0"}, "days"), ({"days": "91"}, "days"), ({"usage.fields": "project_usage,price"}, "usage.fields")],
)
def test_bad_usage_parameters_get_xs_400(fake: FakeX, params: dict[str, str], parameter: str) -> None:
    with client(fake) as http:
        answer = http.get(USAGE_PATH, params=params)
    assert answer.status_code == 400
    assert parameter in answer.json()["errors"][0]["parameters"]


def test_usage_needs_the_bearer_token(fake: FakeX) -> None:
    answer = httpx.get(fake.base_url + USAGE_PATH, timeout=5)
    assert answer.status_code == 401
