"""Time until 10 embedded posts are available: TwitterStream vs the original design's flow.

Against the fake X API with a fixed latency per API call (default 100 ms):

- original flow, every view: one recent search, then 10 oEmbed calls one after another;
- TwitterStream, first view of a new query: the page marks it watched; the ingester backfills it with one
  recent search and fetches the 10 embeds concurrently; we time until the API shows 10 embedded posts;
- TwitterStream, repeat view: the results page served from the store (real HTTP, the page holds the embeds).

Run: python bench/bench_first_view.py [--latency 0.1] [--views 5]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import multiprocessing.connection
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import httpx
from flask import Flask
from werkzeug.serving import make_server

from fakes.waiting import eventually
from fakes.x_api import FakeX
from fakes.x_posts import make_post
from twitterstream import create_app
from twitterstream.config import Secret, Settings
from twitterstream.embed import EmbedFetcher
from twitterstream.ingest import Ingester
from twitterstream.sources import source_factories

TOKEN = "bench-token"


def publish_posts(fake: FakeX, tag: str, count: int = 15) -> None:
    for n in range(count):
        post, user = make_post(None, f"bench post {n} {tag}")
        fake.publish(post, users=[user], deliver=False)


def run_fake(tags: list[str], latency: float, address: multiprocessing.connection.Connection) -> None:
    """The fake X in its own process (as X is): the app's threads and the fake's do not share a GIL."""
    with FakeX(bearer_token=TOKEN, keepalive_interval=5) as fake:
        for tag in tags:
            publish_posts(fake, tag)
        fake.set_latency(latency)
        address.send(fake.base_url)
        address.recv()  # until the bench is done


@contextmanager
def app_with_ingester(settings: Settings, instance: Path) -> Iterator[Flask]:
    """The app and its ingester in this process, as ``twitterstream serve`` runs them (on threads here)."""
    app = create_app({"SETTINGS": settings, "INSTANCE_PATH": str(instance)})
    embedder = EmbedFetcher(settings.x_oembed_url)
    ingester = Ingester(settings, app.extensions["store"], source_factories(settings), embedder, tick=0.05)
    app.extensions["ingester"] = ingester
    ingester.start()
    try:
        yield app
    finally:
        app.extensions["hub"].stop()
        ingester.stop()
        embedder.close()
        app.extensions["store"].close()


def ten_embedded(client: httpx.Client, tag: str) -> bool:
    """Whether the API shows 10 posts of the query, each with its embed."""
    posts = client.get("/api/v1/results", params={"q": tag}).json()["posts"]
    return len(posts) == 10 and all(p["embed_html"] for p in posts)


def original_view(base_url: str, query: str) -> float:
    """One search, then 10 sequential oEmbed calls: what the original app did on every page view."""
    started = time.perf_counter()
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        page = client.get("/2/tweets/search/recent", params={"query": query, "max_results": 10}).json()
        for post in page["data"]:
            client.get("/oembed", params={"url": f"https://x.com/i/status/{post['id']}", "omit_script": "1"})
    return time.perf_counter() - started


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log lines in the table
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per API call at the fake (0.1)")
    parser.add_argument("--views", type=int, default=5, help="first views to time (new queries)")
    args = parser.parse_args()

    tags = [f"#bench{n}" for n in range(args.views)]
    ours, theirs = multiprocessing.Pipe()
    fake_process = multiprocessing.Process(target=run_fake, args=(tags, args.latency, theirs), daemon=True)
    fake_process.start()
    base_url = ours.recv()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            source="x",
            x_bearer_token=Secret(TOKEN),
            x_api_url=base_url,
            x_oembed_url=f"{base_url}/oembed",
        )
        original = [original_view(base_url, tag) for tag in tags]

        with app_with_ingester(settings, Path(tmp)) as app:
            server = make_server("127.0.0.1", 0, app, threaded=True)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            base = f"http://127.0.0.1:{server.server_port}"
            first: list[float] = []
            with httpx.Client(base_url=base) as client:
                client.get("/")  # warm up: templates compiled, connections open, as on a running server
                client.get("/results/warm-up")
                for tag in tags:
                    started = time.perf_counter()
                    client.get(f"/results/{tag.replace('#', '%23')}")
                    eventually(partial(ten_embedded, client, tag), 60, f"10 embedded posts of {tag}", every=0.001)
                    first.append(time.perf_counter() - started)
                repeat = []
                for _ in range(50):
                    started = time.perf_counter()
                    page = client.get(f"/results/{tags[0].replace('#', '%23')}")
                    repeat.append(time.perf_counter() - started)
                    assert page.text.count('class="twitter-tweet"') == 10
            server.shutdown()
    ours.send("done")
    fake_process.join(timeout=10)

    o, f, r = statistics.median(original), statistics.median(first), statistics.median(repeat)
    print(f"Time until 10 embedded posts are available (fake X, {args.latency * 1000:.0f} ms per API call; medians)")
    print()
    print("| flow | time | vs original |")
    print("| --- | ---: | ---: |")
    print(f"| original: search + 10 sequential oEmbed, every view | {o * 1000:.0f} ms | 1.0x |")
    print(f"| TwitterStream, first view of a new query | {f * 1000:.0f} ms | {o / f:.1f}x faster |")
    print(f"| TwitterStream, repeat view (page from the store) | {r * 1000:.1f} ms | {o / r:.0f}x faster |")


if __name__ == "__main__":
    main()
