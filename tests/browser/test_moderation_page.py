"""A wall's moderation page in Chromium, by keyboard only: move, approve, reject, pin, hide, bulk approve; the
public wall open in another browser follows at once; no CSP violation; every control has a name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser_server import WATCH_CSP, Server, append_lines, stream_line

pytestmark = pytest.mark.browser

PASSWORD = "browser operator password"

# Every CSP violation a page meets, kept where the test can read it.

# Controls and roles without an accessible name (a basic check of what axe would flag first).
UNNAMED = """
() => {
  const named = (el) => {
    const by = el.getAttribute("aria-labelledby");
    const text = by ? by.split(" ").map((id) => (document.getElementById(id) || {}).textContent || "").join(" ")
      : el.getAttribute("aria-label") || el.textContent || el.getAttribute("title") || "";
    return text.trim() !== "";
  };
  return Array.from(document.querySelectorAll("button, a[href], input, select, textarea, [role]"))
    .filter((el) => !el.closest("[hidden]") && el.type !== "hidden" && !named(el))
    .map((el) => el.outerHTML.slice(0, 80));
}
"""


@pytest.fixture
def replay_file(tmp_path: Path) -> Path:
    path = tmp_path / "capture.jsonl"
    append_lines(path, *(stream_line(1000 + n, f"cat number {n} #cats", n) for n in range(1, 6)))
    return path


@pytest.fixture
def server_env() -> dict[str, str]:
    return {"TWITTERSTREAM_ADMIN_PASSWORD": PASSWORD}


@pytest.fixture
def audience(browser: Any) -> Iterator[Any]:
    """A second browser (no operator session) with the public wall open."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.add_init_script(WATCH_CSP)
    yield page
    context.close()


def wall_ids(page: Any) -> list[str]:
    ids: list[str] = page.eval_on_selector_all("#posts .post", "els => els.map(e => e.dataset.id)")
    return ids


def queue_ids(page: Any) -> list[str]:
    ids: list[str] = page.eval_on_selector_all("#queue [role=option]", "els => els.map(e => e.dataset.id)")
    return ids


CURRENT = "document.getElementById(document.getElementById('queue').getAttribute('aria-activedescendant')).dataset.id"


def current_id(page: Any) -> str:
    return str(page.evaluate(CURRENT))


def test_the_queue_is_moderated_by_keyboard_and_the_wall_follows_live(server: Server, page: Any, audience: Any) -> None:
    page.add_init_script(WATCH_CSP)
    page.goto(f"{server.url}/admin/walls/cats")
    page.wait_for_url("**/admin")  # no session yet: the login form
    page.fill("input[type=password]", PASSWORD)
    page.keyboard.press("Enter")
    # the URL is /admin before and after the login: wait for the login form to go, not for the URL
    expect(page.locator("form.login")).to_have_count(0)
    answer = page.request.put(
        f"{server.url}/api/v1/admin/walls/cats",
        data={"title": "Cats live", "query": "#cats", "approval": True},
        headers={"Authorization": f"Bearer {PASSWORD}"},
    )
    assert answer.status == 201, answer.text()

    audience.goto(f"{server.url}/wall/cats")
    expect(audience.locator("#live-status")).to_contain_text("Live")
    assert wall_ids(audience) == []  # approval: nothing shows before the operator says so

    page.goto(f"{server.url}/admin/walls/cats")
    expect(page.locator("#queue [role=option]")).to_have_count(5)  # the recent posts matched the new wall
    expect(page.locator("#wall-state")).to_contain_text("Live")
    assert queue_ids(page) == ["1001", "1002", "1003", "1004", "1005"]  # oldest first
    for _ in range(30):  # reach the queue with Tab, as a keyboard user does
        if page.evaluate("document.activeElement.id") == "queue":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "queue"
    assert current_id(page) == "1001"
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert current_id(page) == "1003"
    page.keyboard.press("k")
    page.keyboard.press("k")
    assert current_id(page) == "1001"

    page.keyboard.press("a")  # approve: it reaches the open public wall at once
    expect(page.locator("#announce")).to_have_text("Approved post by @wall_tester")
    expect(page.locator("#waiting-count")).to_have_text("4")
    expect(audience.locator('#posts .post[data-id="1001"]')).to_have_count(1)
    expect(page.locator('#wall-posts [data-id="1001"]')).to_have_count(1)
    assert current_id(page) == "1002"  # the next one is current

    page.keyboard.press("r")  # reject
    expect(page.locator("#announce")).to_have_text("Rejected post by @wall_tester")
    expect(page.locator("#waiting-count")).to_have_text("3")
    assert current_id(page) == "1003"

    page.keyboard.press("p")  # pin: approved and leading the wall
    expect(page.locator("#announce")).to_have_text("Pinned post by @wall_tester")
    expect(audience.locator('#posts .post[data-id="1003"][data-pinned="true"]')).to_have_count(1)
    assert wall_ids(audience)[0] == "1003"
    expect(page.locator("#wall-posts li").first).to_have_attribute("data-pinned", "true")

    page.keyboard.press("h")  # hide everywhere
    expect(page.locator("#announce")).to_have_text("Hid post by @wall_tester")
    assert queue_ids(page) == ["1005"]
    expect(page.locator("#waiting-count")).to_have_text("1")

    # new matches wait in the queue: the open page sees them without a reload
    append_lines(server.capture, stream_line(1006, "cat number 6 #cats", 6), stream_line(1007, "cat 7 #cats", 7))
    expect(page.locator("#waiting-count")).to_have_text("3", timeout=15_000)
    assert queue_ids(page) == ["1005", "1006", "1007"]

    page.keyboard.press("x")  # select 1005
    page.keyboard.press("j")
    page.keyboard.press(" ")  # and 1006
    expect(page.locator("#selected-count")).to_have_text("2")
    assert page.eval_on_selector_all("#queue [aria-selected=true]", "els => els.map(e => e.dataset.id)") == [
        "1005",
        "1006",
    ]
    page.keyboard.press("Shift+A")
    expect(page.locator("#announce")).to_have_text("Approved 2 posts")
    expect(page.locator("#waiting-count")).to_have_text("1")
    expect(audience.locator('#posts .post[data-id="1006"]')).to_have_count(1)
    expect(audience.locator('#posts .post[data-id="1005"]')).to_have_count(1)
    assert "1002" not in wall_ids(audience) and "1004" not in wall_ids(audience)
    assert queue_ids(page) == ["1007"]

    assert page.evaluate("document.activeElement.id") == "queue"  # focus never left the queue
    assert page.evaluate("window.cspViolations") == [] and audience.evaluate("window.cspViolations") == []
    assert page.evaluate(UNNAMED) == []
    assert page.get_attribute("#queue", "role") == "listbox"
    assert page.problems.errors == []


def test_the_buttons_do_the_same_for_the_current_post(server: Server, page: Any) -> None:
    page.goto(f"{server.url}/admin")
    page.fill("input[type=password]", PASSWORD)
    page.keyboard.press("Enter")
    # the URL is /admin before and after the login: wait for the login form to go, not for the URL
    expect(page.locator("form.login")).to_have_count(0)
    answer = page.request.put(
        f"{server.url}/api/v1/admin/walls/cats",
        data={"title": "Cats", "query": "#cats", "approval": True},
        headers={"Authorization": f"Bearer {PASSWORD}"},
    )
    assert answer.status == 201
    page.goto(f"{server.url}/admin/walls/cats")
    expect(page.locator("#queue [role=option]")).to_have_count(5)
    page.get_by_role("button", name="Reject").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#announce")).to_have_text("Rejected post by @wall_tester")
    assert queue_ids(page) == ["1002", "1003", "1004", "1005"]
    assert page.problems.errors == []
