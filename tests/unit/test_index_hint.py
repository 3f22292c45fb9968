"""The hint under the search box: ``-not`` stays on one line on a phone."""

from __future__ import annotations

import re
from pathlib import Path

from index_page import read_index_page

from twitterstream.config import Settings

CSS = Path(__file__).parents[2] / "src" / "twitterstream" / "web" / "static" / "app.css"


def test_the_hint_shows_not_in_a_code_element(settings: Settings, tmp_path: Path) -> None:
    page = read_index_page(settings, tmp_path)
    assert "-not" in page.hint_codes
    assert "lang:en" in page.hint_codes


def test_the_hint_codes_do_not_wrap() -> None:
    rules = re.findall(r"([^{}]+)\{([^}]*)\}", re.sub(r"/\*.*?\*/", "", CSS.read_text(), flags=re.S))
    hint_code = [body for selector, body in rules if ".hint code" in [s.strip() for s in selector.split(",")]]
    assert hint_code, "app.css has no .hint code rule"
    assert any(re.search(r"white-space:\s*nowrap", body) for body in hint_code)
