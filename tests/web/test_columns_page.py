"""The columns page as the server draws it: a region per query of the address, in order, each once; what
cannot be shown named with its reason; the add form works without script; nothing inline for the CSP."""

from __future__ import annotations

import re

from harness import Harness


def regions(html: str) -> list[str]:
    """The keys of the columns drawn (the template copy left out)."""
    drawn = html.split('<template id="column-template">')[0]
    return re.findall(r'<section class="column" id="column-\d+" data-key="([^"]*)"', drawn)


def test_each_query_of_the_address_is_a_labelled_column_in_order_and_once(store_site: Harness) -> None:
    answer = store_site.client.get("/columns?q=%23NYC&q=cats&q=%23nyc&q=dogs%20OR%20birds")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert regions(html) == ["#nyc", "cats", "dogs OR birds"]
    assert 'aria-labelledby="column-1-title"' in html and 'id="column-1-title"' in html
    assert 'href="/results/%23NYC"' in html  # the title leads to the query's results page
    assert 'aria-label="Pause cats"' in html and 'aria-label="Remove cats"' in html
    # the add form without script: the columns shown, then the new query
    form = html.split('id="add-column"')[1].split("</form>")[0]
    assert re.findall(r'type="hidden" name="q" value="([^"]*)"', form) == ["#NYC", "cats", "dogs OR birds"]
    assert "<title>#nyc · cats · dogs OR birds · Columns · TwitterStream</title>" in html


def test_a_query_that_cannot_be_shown_is_named_with_its_reason_and_position(store_site: Harness) -> None:
    html = store_site.client.get("/columns?q=cats&q=dogs%20or").get_data(as_text=True)
    assert regions(html) == ["cats"]
    error = html.split('id="add-error"')[1].split("</div>")[0]
    assert "<q>dogs or</q>: Ambiguous use of or" in error and "(at position 6)" in error
    assert 'aria-invalid="true"' in html and 'value="dogs or"' in html  # kept in the field, to fix
    only_bad = store_site.client.get("/columns?q=(cats")
    assert only_bad.status_code == 400 and "(at position" in only_bad.get_data(as_text=True)


def test_more_than_six_columns_refuses_the_seventh(store_site: Harness) -> None:
    html = store_site.client.get("/columns?" + "&".join(f"q=w{n}" for n in range(7))).get_data(as_text=True)
    assert regions(html) == [f"w{n}" for n in range(6)]
    assert "<q>w6</q>: 6 columns at most: remove one to add another" in html
    assert re.search(r'<input id="add-query"[^>]* disabled', html)


def test_no_columns_yet_says_how_to_start_and_needs_no_inline_style(store_site: Harness) -> None:
    answer = store_site.client.get("/columns")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert regions(html) == [] and "Add a query above to watch it in a column" in html
    assert "style-src 'self'" in answer.headers["Content-Security-Policy"]
    assert " style=" not in html and "<style" not in html
    assert store_site.store.watched() == []  # the page watches nothing: its stream does


def test_a_results_page_links_to_the_columns_page(store_site: Harness) -> None:
    html = store_site.client.get("/results/%23nyc").get_data(as_text=True)
    assert (
        '<a class="secondary" id="columns-link" href="/columns?q=%23nyc" data-query="#nyc">Add to columns</a>' in html
    )
