"""Benchmark: the screen view left running, as on a hall's screen for days: does the page grow, and what does it
cost the browser per post?

    .venv/bin/python bench/bench_screen.py                          # about a minute
    .venv/bin/python bench/bench_screen.py --posts 20000 --rate 100  # a longer soak

* the server: one ``twitterstream serve`` (bench_live.py's ``Server``: SQLite, the replay source reading a FIFO);
* the screen: Debian's Chromium, headless, ``/results/<word>?view=screen`` at ``--size`` (default 1920x1080) with
  movement on (the FLIP animations run);
* the posts: ``--posts`` posts matching the query written at ``--rate`` per second.

Every ``--every`` posts, after a forced garbage collection, it prints what the page holds (cards, elements, DOM
nodes, JS event listeners, JS heap in use) and what the browser's main thread spent since the last line (script,
layout and style recalculation, per post received): the DOM and the listeners must stay flat, the heap must not
climb. Only loopback.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from bench_live import Server

WORD = "screenbench"
METRICS = ("ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=60.0, help="posts per second")
    parser.add_argument("--every", type=int, default=500, help="posts between two lines of figures")
    parser.add_argument("--size", default="1920x1080")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    folder = Path(tempfile.mkdtemp(prefix="bench-screen-"))
    server = Server(folder)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            context = browser.new_context(viewport={"width": width, "height": height}, reduced_motion="no-preference")
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"http://{server.host}:{server.port}/results/{WORD}?view=screen")
            page.wait_for_function("() => document.getElementById('screen-live').textContent.trim() === 'Live'")
            cdp = context.new_cdp_session(page)
            cdp.send("Performance.enable")
            print(f"screen view {width}x{height}, {args.posts} posts at {args.rate:g}/s, Chromium {browser.version}")
            print(f"{'posts':>7} {'cards':>6} {'elements':>9} {'nodes':>6} {'listeners':>10} {'JS heap':>9}"
                  f" {'script':>8} {'layout':>8} {'style':>8}  (ms per post since the line above)")  # fmt: skip
            last = spent(cdp)
            row(0, page, cdp, last, last, 1)
            started = time.monotonic()
            for seq in range(1, args.posts + 1):
                server.send(seq, WORD)
                pause = started + seq / args.rate - time.monotonic()
                if pause > 0:
                    page.wait_for_timeout(pause * 1000)  # lets the page's events run meanwhile
                if seq % args.every == 0:
                    page.wait_for_timeout(1500)  # the last batch shown and its movement over
                    now = spent(cdp)
                    row(seq, page, cdp, last, now, args.every)
                    last = spent(cdp)
            if errors:
                print("page errors:", *errors, sep="\n  ")
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def spent(cdp: Any) -> dict[str, float]:
    """Seconds the page's main thread has spent so far, by kind."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {name: float(metrics.get(name, 0.0)) for name in METRICS}


def row(posts: int, page: Any, cdp: Any, before: dict[str, float], after: dict[str, float], count: int) -> None:
    cdp.send("HeapProfiler.collectGarbage")
    counters = cdp.send("Memory.getDOMCounters")
    heap = cdp.send("Runtime.getHeapUsage")["usedSize"]
    cards = page.evaluate("document.querySelectorAll('#posts .post').length")
    elements = page.evaluate("document.getElementsByTagName('*').length")
    per_post = [(after[name] - before[name]) * 1000 / count for name in METRICS]
    print(
        f"{posts:>7} {cards:>6} {elements:>9} {counters['nodes']:>6} {counters['jsEventListeners']:>10}"
        f" {heap / 1e6:>6.2f} MB" + "".join(f" {ms:>8.3f}" for ms in per_post)
    )


if __name__ == "__main__":
    main()
