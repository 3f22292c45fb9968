"""Every setting, read from the environment (and a ``.env`` file) in one place."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

from twitterstream.errors import TwitterStreamError

SOURCE_NAMES = ("x", "bluesky", "mastodon", "replay")
#: How the wall shows a post: our own card (the service's embed one click away), or the service's embed.
EMBED_MODES = ("card", "original")

DEFAULT_JETSTREAM_URLS = (
    "wss://jetstream.us-east.bsky.network/subscribe",
    "wss://jetstream.us-west.bsky.network/subscribe",
)
DEMO_REPLAY_FILE = str(Path(__file__).parent / "data" / "demo.jsonl")
#: Who may read /metrics by default: this machine and private networks (a scraper inside the VPC), not
#: the internet (behind a load balancer, with TWITTERSTREAM_TRUSTED_PROXIES set, clients keep their address).
DEFAULT_METRICS_ALLOW = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"

#: The longest rule X accepts on pay-per-use; queries are never longer.
MAX_QUERY_LENGTH = 1024

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: One origin of TWITTERSTREAM_FRAME_ANCESTORS: 'self', or scheme://host[:port] (host may start with "*.").
_FRAME_ANCESTOR = re.compile(r"'self'|https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:(\d{1,5}|\*))?")


class ConfigError(TwitterStreamError, ValueError):
    """A setting has a value the app cannot use; the message names the setting."""


class Secret(str):
    """A string that never shows itself in reprs, logs or tracebacks."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('***')"

    def reveal(self) -> str:
        return str.__str__(self)


@dataclass(frozen=True)
class Settings:
    """Typed settings. Build with :func:`load_settings`; tests use ``Settings(...)`` or ``replace``."""

    #: The first of ``sources``: where one name is needed (the SQLite file's default name, ``check``).
    source: str = "bluesky"
    source_explicit: bool = False
    #: Every source the ingester runs at once (``TWITTERSTREAM_SOURCE=x,bluesky``); empty: ``source`` alone.
    sources: tuple[str, ...] = ()
    x_bearer_token: Secret | None = field(default=None, repr=False)
    x_api_url: str = "https://api.x.com"
    x_oembed_url: str = "https://publish.x.com/oembed"
    bluesky_jetstream_urls: tuple[str, ...] = DEFAULT_JETSTREAM_URLS
    bluesky_profile_url: str = "https://public.api.bsky.app"
    bluesky_show_adult: bool = False
    bluesky_watchdog_seconds: float = 30.0
    #: The first of ``mastodon_urls``: the instance streamed with a token, and the one embeds come from.
    mastodon_url: str = "https://mastodon.social"
    #: Every instance whose public tag timelines are polled without a token (empty: ``mastodon_url`` alone).
    mastodon_urls: tuple[str, ...] = ()
    #: Without a token: seconds between two polls of one hashtag on one instance (longer when rate limits ask).
    mastodon_poll_seconds: float = 10.0
    mastodon_access_token: Secret | None = field(default=None, repr=False)
    #: Origins besides the instance that serve its media and avatars (empty: ``https://files.<instance host>``).
    mastodon_media_hosts: tuple[str, ...] = ()
    #: Mastodon sends heartbeats every few seconds; this much silence means the connection is dead.
    mastodon_read_timeout: float = 60.0
    replay_file: str = DEMO_REPLAY_FILE
    replay_rate: float = 5.0
    database_url: str = ""  # empty: SQLite in the app's instance folder
    secret_key: Secret | None = field(default=None, repr=False)
    log_level: str = "INFO"
    log_format: str = "text"
    #: Seconds an ingester's lock lasts unless renewed: a standby takes over this long after the active one dies.
    ingester_lock_ttl: float = 10.0
    #: Proxies in front of the app whose X-Forwarded-* headers are trusted (0: none).
    trusted_proxies: int = 0
    #: The port ``serve`` and ``web`` listen on unless ``--port`` says otherwise.
    port: int = 5000
    #: gunicorn gevent workers of ``twitterstream web`` (``--workers`` overrides it).
    web_concurrency: int = 2
    #: The instance folder (the default SQLite file lives there); empty: ``./instance``.
    instance_path: str = ""
    #: How long a query stays watched after its last viewer leaves, in seconds.
    watch_grace_seconds: float = 300.0
    #: How many recent posts a locally matching source keeps to fill a new query's page at once.
    recent_window_posts: int = 50_000
    recent_window_seconds: float = 3600.0
    #: How many of the newest matches are kept per watched query (the API's ``limit`` maximum).
    keep_per_query: int = 100
    #: Read timeout on the X stream: just above X's 20 s keep-alive interval.
    x_stream_read_timeout: float = 21.0
    #: Seconds between reads of X's own usage figures (``GET /2/usage/tweets``) by the cost guard.
    x_usage_check_seconds: float = 900.0
    #: The operator's own monthly cap on posts read from X (None: X's project cap alone).
    x_monthly_post_cap: int | None = None
    #: US dollars X bills per post read: turns the count into an estimated spend.
    x_price_per_post: float = 0.005
    #: Seconds between SSE comment keep-alives.
    sse_keepalive_seconds: float = 15.0
    #: Networks whose clients may read /metrics.
    metrics_allow: tuple[Network, ...] = field(default_factory=lambda: _networks(DEFAULT_METRICS_ALLOW, "default"))
    #: When set, /metrics also wants ``Authorization: Bearer <token>``.
    metrics_token: Secret | None = field(default=None, repr=False)
    #: ``serve``/``ingest``: seconds a client has to send its request line and headers, and then its body.
    read_timeout: float = 10.0
    #: ``serve``/``ingest``: open connections at most (live streams included); more wait to be accepted.
    max_connections: int = 5000
    #: Origins allowed to show the embeddable wall (/embed) in an iframe (CSP frame-ancestors); none by default.
    frame_ancestors: tuple[str, ...] = ()
    #: The origin people reach the site at (``https://wall.example.org``): the screen view's QR code leads there.
    public_url: str = ""
    #: The operator's password: turns /admin and /api/v1/admin/ on (None: operator features are off).
    admin_password: Secret | None = field(default=None, repr=False)
    #: Per client (address): queries not watched yet that it may start watching per minute.
    new_queries_per_minute: int = 30
    #: Per client (address): live streams it may hold open at once.
    streams_per_client: int = 50
    #: Watched queries in all (X's rule cap on pay-per-use); past it a new query is refused.
    max_queries: int = 1000
    #: The longest query accepted, in characters (X's rule length on pay-per-use; lower it for smaller plans).
    max_query_length: int = 1024
    #: Show posts their service labels sensitive (behind a click, with the content warning); off: hidden.
    show_sensitive: bool = False
    #: ``card``: the wall draws each post itself, "Show original" loads the service's embed; ``original``: the
    #: service's embed as soon as it is fetched (the card until then).
    embeds: str = "card"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def mastodon_instances(self) -> tuple[str, ...]:
        """The Mastodon instances to poll without a token: ``mastodon_urls``, or else ``mastodon_url``."""
        return self.mastodon_urls or (self.mastodon_url,)

    @property
    def source_names(self) -> tuple[str, ...]:
        """The sources the ingester runs: ``sources``, or else ``source`` alone."""
        return self.sources or (self.source,)


def _sources(text: str, configured: Mapping[str, bool]) -> tuple[str, ...]:
    """``TWITTERSTREAM_SOURCE`` as a list of source names, in the order given, each once.

    ``all`` is every configured source: X when a bearer token is set, Bluesky (it needs nothing), Mastodon
    when ``MASTODON_URL`` or ``MASTODON_ACCESS_TOKEN`` is set; never the replay file (name it to run it).
    """
    names: list[str] = []
    for word in (w.strip() for w in text.split(",")):
        if not word:
            continue
        if word == "all":
            found = [name for name in ("x", "bluesky", "mastodon") if configured.get(name, True)]
        elif word in SOURCE_NAMES:
            found = [word]
        else:
            choices = ", ".join((*SOURCE_NAMES, "all"))
            raise ConfigError(f"TWITTERSTREAM_SOURCE={word!r} is not one of {choices} (or a comma-separated list)")
        names += [name for name in found if name not in names]
    if text.strip() and not names:
        raise ConfigError("TWITTERSTREAM_SOURCE names no source")
    return tuple(names)


def load_settings(environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
    """Read settings from ``environ`` (default ``os.environ``) over the values of ``env_file`` if it exists."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    defaults = Settings()

    def get(name: str, default: str = "") -> str:
        return values.get(name, default).strip()

    def url(name: str, default: str) -> str:
        # set but empty is the default (Compose passes ``${BLUESKY_JETSTREAM_URL:-}`` when the shell has none)
        return get(name) or default

    def number(name: str, default: float) -> float:
        raw = get(name)
        return _number(raw, name) if raw else default

    def whole(name: str, default: int) -> int:
        raw = get(name)
        return int(_number(raw, name)) if raw else default

    def secret(name: str) -> Secret | None:
        return Secret(get(name)) if get(name) else None

    token = get("X_BEARER_TOKEN") or get("TWITTER_BEARER_TOKEN")
    configured = {"x": bool(token), "mastodon": bool(get("MASTODON_URL") or get("MASTODON_ACCESS_TOKEN"))}
    sources = _sources(get("TWITTERSTREAM_SOURCE").lower(), configured)
    source = sources[0] if sources else ""

    mastodon_urls = _urls(get("MASTODON_URL"), "MASTODON_URL")
    jetstream_urls = tuple(u.strip() for u in get("BLUESKY_JETSTREAM_URL").split(",") if u.strip())
    public_url = _media_origins(get("TWITTERSTREAM_PUBLIC_URL"), "TWITTERSTREAM_PUBLIC_URL", "https://wall.example.org")
    settings = Settings(
        source=source or ("x" if token else "bluesky"),
        source_explicit=bool(source),
        sources=sources if len(sources) > 1 else (),  # one source: ``source`` alone says it
        x_bearer_token=Secret(token) if token else None,
        x_api_url=url("X_API_URL", defaults.x_api_url).rstrip("/"),
        x_oembed_url=url("X_OEMBED_URL", defaults.x_oembed_url),
        bluesky_jetstream_urls=jetstream_urls or defaults.bluesky_jetstream_urls,
        bluesky_profile_url=url("BLUESKY_PROFILE_URL", defaults.bluesky_profile_url).rstrip("/"),
        bluesky_show_adult=_flag(get("BLUESKY_SHOW_ADULT"), "BLUESKY_SHOW_ADULT"),
        bluesky_watchdog_seconds=number("BLUESKY_WATCHDOG_SECONDS", defaults.bluesky_watchdog_seconds),
        mastodon_url=mastodon_urls[0] if mastodon_urls else defaults.mastodon_url,
        mastodon_urls=mastodon_urls if len(mastodon_urls) > 1 else (),  # one: mastodon_url says it
        mastodon_poll_seconds=number("MASTODON_POLL_SECONDS", defaults.mastodon_poll_seconds),
        mastodon_access_token=secret("MASTODON_ACCESS_TOKEN"),
        mastodon_media_hosts=_media_origins(get("MASTODON_MEDIA_HOSTS"), "MASTODON_MEDIA_HOSTS"),
        replay_file=get("REPLAY_FILE") or DEMO_REPLAY_FILE,
        replay_rate=number("REPLAY_RATE", defaults.replay_rate),
        database_url=get("DATABASE_URL"),
        secret_key=secret("SECRET_KEY"),
        log_level=get("LOG_LEVEL", defaults.log_level).upper(),
        log_format=get("LOG_FORMAT", defaults.log_format).lower(),
        watch_grace_seconds=number("TWITTERSTREAM_WATCH_GRACE", defaults.watch_grace_seconds),
        ingester_lock_ttl=number("TWITTERSTREAM_LOCK_TTL", defaults.ingester_lock_ttl),
        trusted_proxies=whole("TWITTERSTREAM_TRUSTED_PROXIES", defaults.trusted_proxies),
        port=whole("PORT", defaults.port),
        web_concurrency=whole("WEB_CONCURRENCY", defaults.web_concurrency),
        instance_path=get("TWITTERSTREAM_INSTANCE_PATH"),
        metrics_allow=_networks(
            get("TWITTERSTREAM_METRICS_ALLOW", DEFAULT_METRICS_ALLOW), "TWITTERSTREAM_METRICS_ALLOW"
        ),
        metrics_token=secret("TWITTERSTREAM_METRICS_TOKEN"),
        read_timeout=number("TWITTERSTREAM_READ_TIMEOUT", defaults.read_timeout),
        max_connections=whole("TWITTERSTREAM_MAX_CONNECTIONS", defaults.max_connections),
        x_usage_check_seconds=number("X_USAGE_CHECK_SECONDS", defaults.x_usage_check_seconds),
        x_monthly_post_cap=_whole(get("X_MONTHLY_POST_CAP"), "X_MONTHLY_POST_CAP"),
        x_price_per_post=number("X_PRICE_PER_POST", defaults.x_price_per_post),
        frame_ancestors=_origins(get("TWITTERSTREAM_FRAME_ANCESTORS"), "TWITTERSTREAM_FRAME_ANCESTORS"),
        public_url="".join(public_url),
        admin_password=secret("TWITTERSTREAM_ADMIN_PASSWORD"),
        new_queries_per_minute=_count(
            get("TWITTERSTREAM_NEW_QUERIES_PER_MINUTE", str(defaults.new_queries_per_minute)),
            "TWITTERSTREAM_NEW_QUERIES_PER_MINUTE",
        ),
        streams_per_client=_count(
            get("TWITTERSTREAM_STREAMS_PER_CLIENT", str(defaults.streams_per_client)),
            "TWITTERSTREAM_STREAMS_PER_CLIENT",
        ),
        max_queries=_count(get("TWITTERSTREAM_MAX_QUERIES", str(defaults.max_queries)), "TWITTERSTREAM_MAX_QUERIES"),
        max_query_length=_count(
            get("TWITTERSTREAM_MAX_QUERY_LENGTH", str(defaults.max_query_length)), "TWITTERSTREAM_MAX_QUERY_LENGTH"
        ),
        show_sensitive=_flag(get("TWITTERSTREAM_SHOW_SENSITIVE"), "TWITTERSTREAM_SHOW_SENSITIVE"),
        embeds=get("TWITTERSTREAM_EMBEDS", "card").lower(),
    )
    if len(public_url) > 1:
        raise ConfigError("TWITTERSTREAM_PUBLIC_URL must be one origin, such as https://wall.example.org")
    if settings.embeds not in EMBED_MODES:
        raise ConfigError(f"TWITTERSTREAM_EMBEDS={settings.embeds!r} must be 'card' or 'original'")
    if settings.read_timeout <= 0:
        raise ConfigError(f"TWITTERSTREAM_READ_TIMEOUT={settings.read_timeout:g} must be more than 0 seconds")
    if settings.max_connections < 1:
        raise ConfigError(f"TWITTERSTREAM_MAX_CONNECTIONS={settings.max_connections} must be at least 1")
    if settings.x_usage_check_seconds < 18:
        raise ConfigError(
            f"X_USAGE_CHECK_SECONDS={settings.x_usage_check_seconds:g} is too often: X allows about 50 usage "
            "requests per 15 minutes (one every 18 s)"
        )
    if settings.mastodon_poll_seconds < 1:
        raise ConfigError(f"MASTODON_POLL_SECONDS={settings.mastodon_poll_seconds:g} must be at least 1 second")
    if settings.max_query_length > MAX_QUERY_LENGTH:
        raise ConfigError(
            f"TWITTERSTREAM_MAX_QUERY_LENGTH={settings.max_query_length} is over {MAX_QUERY_LENGTH}, "
            "the longest rule X accepts (and what the search form's body limit is sized for)"
        )
    if settings.log_format not in ("text", "json"):
        raise ConfigError(f"LOG_FORMAT={settings.log_format!r} must be 'text' or 'json'")
    if settings.database_url and not settings.database_url.startswith(("sqlite://", "redis://", "rediss://")):
        raise ConfigError("DATABASE_URL must start with sqlite:/// or redis://")
    return settings


def secret_values(settings: Settings) -> list[str]:
    """Every secret in the settings, so that log filters and tests can look for leaks."""
    return [
        getattr(settings, f.name).reveal()
        for f in fields(settings)
        if isinstance(getattr(settings, f.name), Secret) and getattr(settings, f.name)
    ]


def _number(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a number") from None
    if number < 0:
        raise ConfigError(f"{name}={value!r} must not be negative")
    return number


def _urls(value: str, name: str) -> tuple[str, ...]:
    """Comma-separated ``http(s)://`` base URLs, without trailing slashes, each once, in the order given."""
    urls: list[str] = []
    for item in (part.strip().rstrip("/") for part in value.split(",")):
        if not item:
            continue
        if not item.lower().startswith(("https://", "http://")) or len(item.split("://", 1)[1]) == 0:
            raise ConfigError(f"{name}: {item!r} is not a base URL such as https://mastodon.social")
        if item not in urls:
            urls.append(item)
    return tuple(urls)


def _count(value: str, name: str) -> int:
    """A whole number of at least 1 (a limit of 0 would refuse everyone: leave the setting out instead)."""
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{name}={value!r} must be a whole number of at least 1")
    return int(value)


def mastodon_media_origins(settings: Settings) -> tuple[str, ...]:
    """Where a Mastodon wall may load pictures from: every instance followed, and their media hosts.

    Without ``MASTODON_MEDIA_HOSTS``, ``https://files.<instance host>`` of each (mastodon.social's layout, common
    among large instances); a picture from a host not listed shows its placeholder.
    """
    instances = [urlsplit(url) for url in settings.mastodon_instances]
    origins = [f"{i.scheme}://{i.netloc}" for i in instances]
    extra = settings.mastodon_media_hosts or tuple(f"https://files.{i.hostname}" for i in instances if i.hostname)
    return tuple(dict.fromkeys([*origins, *extra]))


def _media_origins(value: str, name: str, example: str = "https://files.example.social") -> tuple[str, ...]:
    """Comma-separated origins (``https://files.example.social``): scheme and host, no path."""
    origins = []
    for item in (part.strip().rstrip("/") for part in value.split(",")):
        if not item:
            continue
        parts = urlsplit(item)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query or " " in item:
            raise ConfigError(f"{name}: {item!r} is not an origin such as {example}")
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return tuple(origins)


def _networks(value: str, name: str) -> tuple[Network, ...]:
    """Comma-separated networks (``10.0.0.0/8``) or single addresses; empty: nobody."""
    networks = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"{name}: {item!r} is not a network such as 10.0.0.0/8 or an address") from None
    return tuple(networks)


def _whole(value: str, name: str) -> int | None:
    """A whole number (``3,000,000`` allowed); None when not set."""
    if not value:
        return None
    number = _number(value.replace(",", "").replace("_", ""), name)
    if number != int(number):
        raise ConfigError(f"{name}={value!r} must be a whole number")
    return int(number)


def _origins(value: str, name: str) -> tuple[str, ...]:
    """Space-separated origins for a CSP source list; anything else (a ';' above all) is refused."""
    origins = tuple(value.split())
    for origin in origins:
        if not _FRAME_ANCESTOR.fullmatch(origin):
            raise ConfigError(f"{name}: {origin!r} is not an origin such as https://example.com (or 'self')")
    return origins


def _flag(value: str, name: str) -> bool:
    if value.lower() in ("", "0", "false", "no", "off"):
        return False
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name}={value!r} must be true or false")
