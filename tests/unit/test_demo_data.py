"""The bundled demo capture: clean, varied, with exact entities, and every query the index page suggests finds posts."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest
from index_page import read_index_page

from twitterstream.config import DEMO_REPLAY_FILE, Settings
from twitterstream.models import Post
from twitterstream.query import QueryError, parse
from twitterstream.sources.x_payload import decode_stream_message

SCRIPT = Path(__file__).parents[2] / "scripts" / "make_demo_data.py"
MESSAGES = [orjson.loads(line) for line in Path(DEMO_REPLAY_FILE).read_bytes().splitlines()]
POSTS: list[Post] = [post for message in MESSAGES for post in decode_stream_message(message).posts]

#: Guide examples that are not meant to find demo posts, and why.
NOT_IN_THE_DEMO = {
    "from:nasa": "the demo never attributes posts to a real account",
    "-spoilers": "an exclusion alone is refused (the guide says so)",
    "-is:retweet": "an exclusion alone is refused",
    "lang:en": "shown as an operator to use next to a word",
    "has:links": "shown as an operator to use next to a word",
    "has:images": "shown as an operator to use next to a word",
    "is:reply": "shown as an operator to use next to a word",
    "source:bluesky": "shown as an operator to use next to a word (and the demo is the replay source alone)",
    "-source:x": "an exclusion alone is refused",
}


def test_the_file_is_what_the_script_writes(tmp_path: Path) -> None:
    output = tmp_path / "demo.jsonl"
    subprocess.run([sys.executable, str(SCRIPT), str(output)], check=True, timeout=60)
    assert output.read_bytes() == Path(DEMO_REPLAY_FILE).read_bytes(), "run scripts/make_demo_data.py"


def test_a_sensible_size_and_every_line_a_post() -> None:
    assert 300 <= len(MESSAGES) <= 1500
    assert Path(DEMO_REPLAY_FILE).stat().st_size < 1_000_000
    assert len(POSTS) == len(MESSAGES)


def test_ids_are_unique_digit_strings() -> None:
    ids = [m["data"]["id"] for m in MESSAGES]
    assert all(isinstance(i, str) and i.isdigit() for i in ids)
    assert len(set(ids)) == len(ids)
    users = {u["id"]: u for m in MESSAGES for u in m["includes"]["users"]}
    assert all(i.isdigit() for i in users)
    assert len({u["username"] for u in users.values()}) == len(users)  # one id per username


def test_no_duplicate_texts_and_no_mangled_punctuation() -> None:
    texts = [p.text for p in POSTS]
    assert [t for t, n in Counter(texts).items() if n > 1] == []
    for text in texts:
        assert text == text.strip()
        for artifact in ("  ", " .", " ,", " !", " ?", ",,", "..."):
            assert artifact not in text, (artifact, text)
        assert not any(c in text for c in "&<>")  # X would escape them, shifting the entity indices


def test_every_entity_points_at_its_text() -> None:
    prefixes = {"hashtags": ("#", "tag"), "cashtags": ("$", "tag"), "mentions": ("@", "username")}
    seen: Counter[str] = Counter()
    for message in MESSAGES:
        text = message["data"]["text"]
        for kind, entities in message["data"].get("entities", {}).items():
            for entity in entities:
                seen[kind] += 1
                written = text[entity["start"] : entity["end"]]
                if kind == "urls":
                    assert written == entity["url"]
                else:
                    prefix, field = prefixes[kind]
                    assert written == prefix + entity[field], (text, entity)
        for word in text.split():
            if word.startswith(("#", "@", "$")) and len(word) > 1:  # nothing that looks like an entity is missed
                assert any(
                    text[e["start"] : e["end"]] in word
                    for es in message["data"].get("entities", {}).values()
                    for e in es
                ), (word, text)
    assert seen["hashtags"] > 100 and seen["mentions"] > 50 and seen["cashtags"] >= 5 and seen["urls"] > 50


def test_media_and_people_are_in_the_documented_shapes() -> None:
    media_posts = 0
    for message in MESSAGES:
        data, includes = message["data"], message["includes"]
        assert data["author_id"] in {u["id"] for u in includes["users"]}
        keys = data.get("attachments", {}).get("media_keys", [])
        media = {m["media_key"]: m for m in includes.get("media", [])}
        assert set(keys) == set(media)
        for key in keys:
            media_posts += 1
            assert key.startswith("3_")
            assert media[key]["type"] == "photo"
            assert media[key]["url"].startswith("/static/demo/") and media[key]["alt_text"]
            assert media[key]["width"] > 0 and media[key]["height"] > 0
        for user in includes["users"]:
            if user["id"] == data["author_id"]:
                assert user["profile_image_url"].startswith("/static/demo/") and user["name"]
    assert media_posts >= 20


def test_varied_people_languages_and_kinds() -> None:
    authors = Counter(p.author.username for p in POSTS)
    assert len(authors) >= 30
    assert authors.most_common(1)[0][1] < len(POSTS) / 10
    langs = Counter(p.lang for p in POSTS)
    assert {"en", "es", "fr", "de", "pt", "ja", "it"} <= set(langs)
    assert sum(p.is_retweet for p in POSTS) >= 20
    assert sum(p.is_reply for p in POSTS) >= 20
    assert sum(p.is_quote and bool(p.quoted_text) for p in POSTS) >= 10
    first_words = Counter(" ".join(p.text.split()[:3]) for p in POSTS if not p.is_retweet and not p.is_reply)
    assert first_words.most_common(1)[0][1] <= 12  # no opening repeated over and over


def test_the_language_of_a_post_is_its_own() -> None:
    def japanese(text: str) -> bool:
        return any("\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff" for c in text)

    assert all(japanese(p.text) for p in POSTS if p.lang == "ja")
    assert not any(japanese(p.text) for p in POSTS if p.lang != "ja")
    spanish = [p.text for p in POSTS if p.lang == "es" and not p.is_retweet]
    assert sum(any(c in "ñáéíóú¿¡" for c in t) for t in spanish) > len(spanish) / 2


def matching(text: str) -> list[Post]:
    query = parse(text)
    return [post for post in POSTS if query.matches(post)]


def test_every_query_the_index_page_suggests_finds_demo_posts(settings: Settings, tmp_path: Path) -> None:
    page = read_index_page(settings, tmp_path)
    suggested = [page.placeholder, *page.links, *page.examples]
    assert len(page.links) >= 2 and len(page.examples) >= 10  # the page was read
    assert "#nyc -is:retweet" in suggested and '"open source" lang:en' in suggested
    for text in suggested:
        if text in NOT_IN_THE_DEMO:
            continue
        try:
            found = matching(text)
        except QueryError as error:  # a new guide example that is not a query: list it above, with why
            pytest.fail(f"{text!r} on the index page is not a valid query: {error}")
        assert len(found) >= 3, f"{text!r} finds {len(found)} demo posts"


@pytest.mark.parametrize(
    "text",
    [
        "#nyc -is:retweet lang:en",
        "has:images (snow OR cat OR pizza)",
        "#nyc has:links",
        "cats is:reply OR @nasa is:reply",
        "to:nasa",
        "$TSLA",
        "url:example.com",
        "(rain OR snow) #nyc",
        "open source",
        "from:citybot_demo",
    ],
)
def test_the_operators_of_the_guide_find_demo_posts(text: str) -> None:
    assert len(matching(text)) >= 3
