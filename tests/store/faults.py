"""Faults a test can do to a SQLite store: a damaged page, a database that refuses writes."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from twitterstream.store.sqlite import SQLiteStore


def damage_page_of(path: Path, name: str) -> None:
    """Overwrite the root page of table or index ``name`` with garbage, as a bad disk or a stray write would.

    The store must be closed first (its WAL is then checkpointed into the file and removed).
    """
    with sqlite3.connect(path) as conn:
        (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).fetchone()
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
    conn.close()
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(os.urandom(page_size))


def make_read_only(store: SQLiteStore, read_only: bool = True) -> None:
    """Make the store's database refuse writes as a read-only folder with leftover -wal/-shm files does
    ("attempt to write a readonly database"). Tests run as root, whom chmod does not stop, so the writing
    connection is told ``PRAGMA query_only`` instead: SQLite then fails writes with that same error."""
    with store._write_lock:  # the one writing connection; not while a transaction runs
        store._writer.execute(f"PRAGMA query_only={int(read_only)}")


def repair_by_dropping(path: Path, index: str) -> None:
    """What an operator does for a damaged index (the store is stopped): forget it and rebuild the file; the
    store creates the index again when it opens. The tables' rows are kept as they were."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA writable_schema=ON")
        conn.execute("DELETE FROM sqlite_master WHERE type = 'index' AND name = ?", (index,))
        conn.execute("PRAGMA writable_schema=OFF")
    finally:
        conn.close()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("VACUUM")
    finally:
        conn.close()


def integrity(path: Path) -> str:
    """``PRAGMA integrity_check`` of the file: "ok" when every page and index is sound, else what is wrong."""
    conn = sqlite3.connect(path)
    try:
        return "\n".join(row[0] for row in conn.execute("PRAGMA integrity_check"))
    except sqlite3.DatabaseError as exc:  # so damaged that the check itself stops
        return str(exc)
    finally:
        conn.close()
