"""Read the index page as a person does: the hint's codes, the guide's examples, the queries it suggests."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

from harness import running_app
from twitterstream.config import Settings


class IndexPage(HTMLParser):
    """``hint_codes``: (code text, classes of the enclosing p); ``examples``: every <code> in a <dt>;
    ``links``: the queries of /results/ links; ``placeholder``: the search box's."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, str]] = []
        self.hint_codes: list[str] = []
        self.examples: list[str] = []
        self.links: list[str] = []
        self.placeholder = ""
        self._code: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "input" and values.get("id") == "query":
            self.placeholder = values.get("placeholder", "")
        if tag == "a" and values.get("href", "").startswith("/results/"):
            self.links.append(unquote(values["href"].removeprefix("/results/")))
        if tag in ("input", "br", "meta", "link", "img"):
            return
        self.stack.append((tag, values.get("class", "")))
        if tag == "code":
            self._code = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "code" and self._code is not None:
            text = "".join(self._code)
            tags = [t for t, _ in self.stack]
            if any(t == "p" and "hint" in c.split() for t, c in self.stack):
                self.hint_codes.append(text)
            elif "dt" in tags:
                self.examples.append(text)
            self._code = None
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._code is not None:
            self._code.append(data)


def read_index_page(settings: Settings, tmp_path: Path) -> IndexPage:
    with running_app(settings, tmp_path, start_ingester=False) as site:
        answer = site.client.get("/")
        assert answer.status_code == 200
        page = IndexPage()
        page.feed(answer.get_data(as_text=True))
    return page
