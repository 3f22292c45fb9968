"""The search form's network boxes: one per running source, all checked; a subset narrows the query (source:)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from harness import Harness, running_app
from twitterstream.config import Settings

SEVERAL = ("x", "bluesky", "mastodon")


@pytest.fixture
def site(settings: Settings, tmp_path: Path) -> Iterator[Harness]:
    """No ingester has published yet: the running sources are the configured ones."""
    with running_app(settings.with_overrides(source="x", sources=SEVERAL), tmp_path, start_ingester=False) as harness:
        yield harness


def boxes(page: str) -> dict[str, bool]:
    """Each network box of the form: checked or not."""
    found = re.findall(r'<input type="checkbox" name="networks" value="(\w+)"( checked)?>', page)
    return {name: bool(checked) for name, checked in found}


def search(site: Harness, query: str, *networks: str, shown: bool = True) -> tuple[int, str]:
    """Post the form; (status, the query of the results page it leads to, or the page shown)."""
    data: dict[str, str | list[str]] = {"query": query, "networks": list(networks)}
    if shown:
        data["networks_shown"] = "1"
    answer = site.client.post("/", data=data)
    if answer.status_code == 303:
        return 303, unquote(answer.headers["Location"].removeprefix("/results/"))
    return answer.status_code, answer.get_data(as_text=True)


def test_the_form_offers_a_box_per_running_network_all_checked(site: Harness) -> None:
    page = site.client.get("/").get_data(as_text=True)
    assert boxes(page) == {"x": True, "bluesky": True, "mastodon": True}
    assert "<legend>On</legend>" in page and re.search(r'name="networks_shown" type="hidden" value="1"', page)
    assert re.search(r"checked> Bluesky</label>", page)


def test_one_running_network_offers_no_boxes(settings: Settings, tmp_path: Path) -> None:
    with running_app(settings, tmp_path, start_ingester=False) as site:
        page = site.client.get("/").get_data(as_text=True)
        assert boxes(page) == {} and "networks_shown" not in page


def test_every_network_checked_adds_nothing(site: Harness) -> None:
    assert search(site, "  #NYC  ", *SEVERAL) == (303, "#NYC")


def test_some_networks_checked_narrow_the_query_in_canonical_form(site: Harness) -> None:
    assert search(site, "#NYC", "x", "bluesky") == (303, "#nyc (source:x OR source:bluesky)")
    assert search(site, "#a OR #b", "mastodon") == (303, "(#a OR #b) source:mastodon")
    assert search(site, "pizza -pineapple", "bluesky", "x") == (303, "pizza -pineapple (source:x OR source:bluesky)")


def test_a_client_that_posts_only_the_query_watches_every_network(site: Harness) -> None:
    assert search(site, "#nyc", shown=False) == (303, "#nyc")
    assert search(site, "#nyc", "x", shown=False) == (303, "#nyc")  # boxes without the form's marker: ignored


def test_no_network_checked_is_refused_and_the_choice_kept(site: Harness) -> None:
    status, page = search(site, "#nyc")
    assert status == 400 and "Choose at least one network to watch." in page
    assert boxes(page) == {"x": False, "bluesky": False, "mastodon": False}
    status, page = search(site, "cats or dogs", "x")  # an error in the query itself keeps its position
    assert status == 400 and "(at position 6)" in page
    assert boxes(page) == {"x": True, "bluesky": False, "mastodon": False}


def test_a_choice_the_query_cannot_follow_says_why(site: Harness) -> None:
    status, page = search(site, "#nyc source:x", "bluesky")
    assert status == 400 and "The networks chosen and the query&#39;s own source: have no network in common." in page
    status, page = search(site, "#nyc is:verified", "bluesky", "mastodon")
    assert status == 400 and "is:verified cannot be evaluated on bluesky or mastodon posts: remove it" in page
    status, page = search(site, "a" * 1010, "bluesky")
    assert status == 400 and "rules are limited to 1,024 characters with the networks chosen" in page


def test_a_narrowed_query_s_page_names_the_networks_it_leaves_out(site: Harness) -> None:
    page = site.client.get("/results/%23nyc%20(source%3Ax%20OR%20source%3Abluesky)").get_data(as_text=True)
    assert 'id="networks">On X, Bluesky; not on Mastodon (left out by source:)</p>' in page
    answer = site.client.get("/results/%23nyc%20source%3Areplay")
    assert answer.status_code == 400
    assert "source: leaves out every network running here (X, Bluesky and Mastodon)" in answer.get_data(as_text=True)
