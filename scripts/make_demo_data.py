"""Write the bundled demo file: synthetic posts in X API v2 stream format (no real people's posts).

Run: python scripts/make_demo_data.py > src/twitterstream/data/demo.jsonl
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta

import orjson

USERS = [
    ("1001", "ada_demo", "Ada (demo)"),
    ("1002", "grace_demo", "Grace (demo)"),
    ("1003", "linus_demo", "Linus (demo)"),
    ("1004", "maria_demo", "María (demo)"),
    ("1005", "kenji_demo", "Kenji (demo)"),
    ("1006", "noor_demo", "Noor (demo)"),
    ("1007", "citybot_demo", "City Bot (demo)"),
    ("1008", "weather_demo", "Weather (demo)"),
]
TEMPLATES = [
    ("en", "Morning coffee and a walk across the bridge. {tag} is beautiful today"),
    ("en", "Anyone know a good pizza place near Union Square? {tag}"),
    ("en", "The subway was packed again this morning {tag} #commute"),
    ("en", "Rain all afternoon, perfect weather for reading {tag}"),
    ("en", "Just shipped a new release of our open source library {tag} #python"),
    ("en", "Watching the game tonight, what a goal! {tag} #worldcup"),
    ("en", "Sunset over the river, no filter needed {tag}"),
    ("en", "Coffee tip: try the place on 5th street, great espresso {tag}"),
    ("en", "Reading about solar power and batteries today {tag} #climate"),
    ("es", "Qué buen partido esta noche {tag} #worldcup"),
    ("es", "Un café y a trabajar. Buenos días {tag}"),
    ("fr", "Il pleut encore à Paris, parfait pour lire {tag}"),
    ("fr", "Nouvelle version de notre bibliothèque open source {tag} #python"),
    ("de", "Kaffee am Morgen und dann ins Büro {tag}"),
    ("en", "Open source maintainers deserve more thanks {tag} #opensource"),
    ("en", "New York pizza vs Chicago pizza, go {tag}"),
]
TAGS = ["#nyc", "#NYC", "#london", "#paris", "#tokyo", "", "#coffee", "#books", "#music", "#demo"]


def main() -> None:
    rng = random.Random(2026)
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    post_id = 1_880_000_000_000_000_000
    for n in range(400):
        lang, template = rng.choice(TEMPLATES)
        user_id, username, name = rng.choice(USERS)
        text = template.format(tag=rng.choice(TAGS)).strip()
        entities: dict[str, list[dict[str, object]]] = {}
        offset = 0
        for word in text.split(" "):
            if word.startswith("#"):
                entities.setdefault("hashtags", []).append(
                    {"start": offset, "end": offset + len(word), "tag": word[1:]}
                )
            offset += len(word) + 1
        if rng.random() < 0.2:
            link = f"https://t.co/demo{n:04d}"
            entities.setdefault("urls", []).append(
                {
                    "start": len(text) + 1,
                    "end": len(text) + 1 + len(link),
                    "url": link,
                    "expanded_url": f"https://example.com/story/{n}",
                    "display_url": f"example.com/story/{n}",
                }
            )
            text = f"{text} {link}"
        post_id += rng.randint(1, 5) << 22
        post = {
            "id": str(post_id),
            "text": text,
            "author_id": user_id,
            "created_at": (start + timedelta(seconds=7 * n)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "lang": lang,
            "entities": entities,
        }
        if rng.random() < 0.1:
            post["referenced_tweets"] = [{"type": "replied_to", "id": str(post_id - (1 << 22))}]
        message = {"data": post, "includes": {"users": [{"id": user_id, "username": username, "name": name}]}}
        sys.stdout.write(orjson.dumps(message).decode() + "\n")


if __name__ == "__main__":
    main()
