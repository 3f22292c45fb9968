"""Cutting a byte stream into lines, whatever the chunk boundaries."""

from __future__ import annotations

from twitterstream.sources.errors import Disconnected


class LineSplitter:
    """Cut a byte stream into lines, whatever the chunk boundaries (mid-line, mid-character, mid-CRLF)."""

    def __init__(self, max_line: int = 16 * 1024 * 1024) -> None:
        self._buffer = b""
        self._max_line = max_line

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add bytes; return the complete lines (without ``\\r\\n``), possibly none."""
        data = self._buffer + chunk
        *lines, self._buffer = data.split(b"\n")
        if len(self._buffer) > self._max_line:
            raise Disconnected(f"a line longer than {self._max_line} bytes: the stream is garbled")
        return [line.rstrip(b"\r") for line in lines]
