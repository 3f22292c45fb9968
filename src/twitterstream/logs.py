"""Logging to stdout as text or JSON lines (for CloudWatch), with every secret masked."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable

import orjson


class RedactSecrets(logging.Filter):
    """Replace every known secret in a record's final message (and traceback) with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        exc_text = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        for secret in self.secrets:
            message = message.replace(secret, "***")
            exc_text = exc_text.replace(secret, "***")
        record.msg, record.args = message, None
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.fields = {key: self._mask(value) for key, value in fields.items()}
        if record.exc_info:
            record.exc_info, record.exc_text = None, exc_text
        return True

    def _mask(self, value: object) -> object:
        if not isinstance(value, str):
            return value
        for secret in self.secrets:
            value = value.replace(secret, "***")
        return value


class JsonFormatter(logging.Formatter):
    """One JSON object per line; a record's ``extra={"fields": {...}}`` become keys of their own."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({key: value for key, value in fields.items() if key not in entry})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return orjson.dumps(entry).decode()


def configure_logging(level: str, fmt: str, secrets: Iterable[str]) -> None:
    """Send every log record to stdout in ``fmt`` ("text" or "json"), secrets masked."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(RedactSecrets(secrets))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise at INFO
