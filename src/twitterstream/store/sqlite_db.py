"""The SQLite file underneath the store: WAL, one writing connection under a lock, a small pool of readers.

Under gevent (``serve``, ``ingest``) a write transaction runs on a native thread of gevent's pool while the
greenlet that asked waits: SQLite releases the GIL, so the loop keeps decoding, matching and serving meanwhile
instead of stalling on every commit. Every use of a connection goes through :meth:`SQLiteDatabase._mapped`:
whatever ``sqlite3.Error`` SQLite raises (a damaged file, a read-only folder, a full disk) leaves as
:class:`StoreUnavailable` with a message in words.
"""

from __future__ import annotations

import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from twitterstream.store.base import StoreUnavailable

#: Seconds between whole-file checks by :meth:`SQLiteStore.ping` (/readyz) while nothing has failed.
CHECK_EVERY = 60.0
#: WAL pages at which a commit copies the WAL into the file and syncs both (SQLite's automatic checkpoint,
#: its default size). Under gevent only a commit on the native thread does it (see :class:`SQLiteDatabase`).
CHECKPOINT_PAGES = 1000
#: Under gevent, commits on the loop after which the native thread checkpoints anyway: a process without an
#: ingester (``web``) commits nothing on the native thread, and its page writes alone grow the WAL.
CHECKPOINT_AFTER_COMMITS = 1000

#: SQLite's primary result codes (``sqlite3.Error.sqlite_errorcode & 0xFF``) in the words an operator needs.
_CODE_WORDS = {
    sqlite3.SQLITE_CORRUPT: "the SQLite database file is damaged",
    sqlite3.SQLITE_NOTADB: "the SQLite database file is damaged (it is not a database)",
    sqlite3.SQLITE_READONLY: "the SQLite database is read-only (check the instance folder and its -wal and -shm files)",
    sqlite3.SQLITE_CANTOPEN: "the SQLite database file cannot be opened (check that its folder exists and is writable)",
    sqlite3.SQLITE_PERM: "the SQLite database file is not accessible (permission denied)",
    sqlite3.SQLITE_BUSY: "the SQLite database is locked by another process",
    sqlite3.SQLITE_LOCKED: "the SQLite database is locked by another process",
    sqlite3.SQLITE_IOERR: "the disk under the SQLite database fails (I/O error)",
    sqlite3.SQLITE_FULL: "the disk under the SQLite database is full",
}


def _in_words(exc: sqlite3.Error) -> str:
    """What went wrong, for pages, logs and /readyz (never a path: SQLite's own text is not shown)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in _CODE_WORDS:
        return _CODE_WORDS[code & 0xFF]
    if isinstance(exc, sqlite3.ProgrammingError | sqlite3.InterfaceError):
        return "the SQLite store is closed"
    return f"SQLite cannot do what was asked ({type(exc).__name__})"


T = TypeVar("T")
Offload = Callable[[Callable[[], Any]], Any]


def native_thread_runner() -> Offload | None:
    """Under gevent with threading monkey-patched, a runner that calls a function on a native thread of the
    hub's pool (the calling greenlet waits, the others run); ``None`` otherwise (threads are real already)."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("threading"):
        return None
    import gevent

    pool = gevent.get_hub().threadpool
    return lambda call: pool.apply(call)


class SQLiteDatabase:
    """Connections to one SQLite file, with ``schema`` applied on open; the store's tables live above it.

    Under gevent a page's write (a lease, a rate count) commits on the loop, where it is a few page writes
    to the WAL: sending it to the native thread would cost more than it saves, and the loop would hold the
    write lock meanwhile. But the commit that fills the WAL to ``CHECKPOINT_PAGES`` would also run SQLite's
    checkpoint, a copy into the file and two syncs (5 to 20 ms): so the loop's commits never checkpoint, and
    the ingester's transactions, already on the native thread, do it for everyone.
    """

    def __init__(self, path: str | Path, schema: str, pool_size: int = 4, offload: Offload | None = None) -> None:
        """``offload`` runs the ingester's transactions (default: on gevent's native pool under gevent)."""
        self.path = str(path)
        #: The last failure in words, until a check (:meth:`ping`) finds the database usable again.
        self.problem: str | None = None
        self._checked_at: float | None = None  # time.monotonic() of the last whole-file check
        self._offload = offload if offload is not None else native_thread_runner()
        if self.path != ":memory:":
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                reason = "a file of that name is in the way" if isinstance(exc, FileExistsError) else exc.strerror
                raise StoreUnavailable(f"the SQLite database's folder cannot be created ({reason})") from None
        self._write_lock = threading.Lock()
        self._changed = threading.Condition()
        self._generation = 0
        self._writer = self._connect()
        self._loop_commits = 0  # under gevent: commits on the loop since the native thread last checkpointed
        with self._mapped():
            self._writer.executescript(schema)
            if self._offload is not None:
                self._writer.execute("PRAGMA wal_autocheckpoint=0")
        self._readers: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._pool_size = pool_size
        self._opened_readers = 0
        self._pool_lock = threading.Lock()
        self._all_connections = [self._writer]
        self._closed = False

    # -- connections ----------------------------------------------------------------------------
    @contextmanager
    def _mapped(self) -> Iterator[None]:
        """Turn any ``sqlite3.Error`` of the block into :class:`StoreUnavailable` (and remember it)."""
        try:
            yield
        except sqlite3.Error as exc:
            self.problem = _in_words(exc)
            raise StoreUnavailable(self.problem) from exc

    def _connect(self) -> sqlite3.Connection:
        with self._mapped():
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=10000")
        return conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        try:
            conn = self._readers.get_nowait()
        except queue.Empty:
            with self._pool_lock:
                grow = self._opened_readers < self._pool_size
                if grow:
                    self._opened_readers += 1
            if grow:
                try:
                    conn = self._connect()
                except StoreUnavailable:
                    with self._pool_lock:  # the slot stays free: the next reader tries again
                        self._opened_readers -= 1
                    raise
                self._all_connections.append(conn)
            else:
                conn = self._readers.get()
        try:
            with self._mapped():
                yield conn
        finally:
            self._readers.put(conn)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            if self._closed:
                raise StoreUnavailable("the store is closed")
            conn = self._writer
            with self._mapped():
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    if conn.in_transaction:  # SQLite may have rolled back already (a full disk, a damaged page)
                        conn.execute("ROLLBACK")
                    raise
                self._commit(conn)

    def _commit(self, conn: sqlite3.Connection) -> None:
        """COMMIT in the caller's thread: under gevent the loop, where it never checkpoints (but every
        ``CHECKPOINT_AFTER_COMMITS`` the native thread does)."""
        conn.execute("COMMIT")
        if self._offload is None:
            return
        self._loop_commits += 1
        if self._loop_commits >= CHECKPOINT_AFTER_COMMITS:
            self._offload(lambda: self._checkpoint(conn))

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        self._loop_commits = 0

    def _native_commit(self, conn: sqlite3.Connection) -> None:
        """COMMIT on the native thread under gevent, with SQLite's automatic checkpoint on: it checkpoints when
        the WAL holds ``CHECKPOINT_PAGES``, the loop's commits included."""
        if self._offload is None:
            conn.execute("COMMIT")
            return
        conn.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
        try:
            conn.execute("COMMIT")
        finally:
            conn.execute("PRAGMA wal_autocheckpoint=0")
        self._loop_commits = 0

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work`` in one write transaction, off the event loop under gevent. The lock is taken here, on the
        caller's side (a gevent lock when patched); the native thread touches nothing but the connection."""
        with self._write_lock:
            if self._closed:
                raise StoreUnavailable("the store is closed")
            conn = self._writer

            def run() -> T:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = work(conn)
                except BaseException:
                    if conn.in_transaction:  # SQLite may have rolled back already (a full disk, a damaged page)
                        conn.execute("ROLLBACK")
                    raise
                self._native_commit(conn)
                return result

            with self._mapped():  # the native thread's sqlite3.Error comes back here, raised again
                return run() if self._offload is None else self._offload(run)

    def _notify(self) -> None:
        with self._changed:
            self._generation += 1
            self._changed.notify_all()

    # -- health ---------------------------------------------------------------------------------------
    def ping(self) -> None:
        """Read the schema; also :meth:`check` the whole file after a failure (until it passes) and every
        ``CHECK_EVERY`` seconds, so that /readyz sees damage that only some pages have."""
        with self._read() as conn:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        due = self._checked_at is None or time.monotonic() - self._checked_at > CHECK_EVERY
        if self.problem is not None or due:
            self._checked_at = time.monotonic()
            self.check()

    def check(self) -> None:
        """Raise :class:`StoreUnavailable` unless every page of the file reads and the database takes writes
        (``PRAGMA quick_check``: time grows with the file; for start-up and after a failure)."""
        with self._read() as conn:
            verdict = conn.execute("PRAGMA quick_check(1)").fetchone()
        if verdict is None or verdict[0] != "ok":
            self.problem = _CODE_WORDS[sqlite3.SQLITE_CORRUPT]
            raise StoreUnavailable(self.problem)
        with self._write():
            pass  # BEGIN IMMEDIATE: fails on a read-only database
        self.problem = None

    def close(self) -> None:
        with self._write_lock:
            self._closed = True
            for conn in self._all_connections:
                conn.close()
