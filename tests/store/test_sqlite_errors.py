"""A damaged or read-only SQLite file: every failure leaves the store as StoreUnavailable, in words."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from helpers import make_post
from store.faults import damage_page_of, make_read_only
from twitterstream.store import StoreUnavailable
from twitterstream.store.sqlite import SQLiteStore


def stored_store(path: Path) -> None:
    store = SQLiteStore(path)
    store.save_matches([(make_post(n, "cats"), ["cats"]) for n in (1, 2, 3)])
    store.close()


def test_a_damaged_page_makes_reads_and_writes_unavailable_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    stored_store(path)
    damage_page_of(path, "matches_newest")
    store = SQLiteStore(path)  # the schema page is intact: it opens
    try:
        with pytest.raises(StoreUnavailable, match="damaged") as read:
            store.latest("cats")
        assert isinstance(read.value.__cause__, sqlite3.DatabaseError)
        with pytest.raises(StoreUnavailable, match="damaged"):
            store.save_matches([(make_post(4, "cats"), ["cats"])])
        with pytest.raises(StoreUnavailable, match="damaged"):
            store.ping()
        assert store.problem is not None and str(tmp_path) not in store.problem
    finally:
        store.close()


def test_ping_finds_damage_before_any_request_does(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    stored_store(path)
    damage_page_of(path, "posts")
    store = SQLiteStore(path)
    try:
        with pytest.raises(StoreUnavailable, match="damaged"):
            store.ping()
    finally:
        store.close()


def test_a_file_that_is_not_a_database_does_not_open(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    path.write_bytes(b"not a database, a stray log file\n" * 200)
    with pytest.raises(StoreUnavailable, match="damaged"):
        SQLiteStore(path)


def test_a_folder_that_cannot_be_made_is_said_in_words(tmp_path: Path) -> None:
    (tmp_path / "instance").write_text("a file where the instance folder should be")
    with pytest.raises(StoreUnavailable, match="folder cannot be created"):
        SQLiteStore(tmp_path / "instance" / "store.sqlite3")


def test_a_read_only_database_refuses_writes_until_it_is_writable_again(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.sqlite3")
    try:
        store.save_matches([(make_post(1, "cats"), ["cats"])])
        make_read_only(store)
        with pytest.raises(StoreUnavailable, match="read-only"):
            store.save_matches([(make_post(2, "cats"), ["cats"])])
        assert [p.id for p in store.latest("cats")] == ["1"]  # reads still work
        with pytest.raises(StoreUnavailable, match="read-only"):
            store.ping()  # /readyz keeps saying so, not only the write that failed
        make_read_only(store, False)
        store.ping()
        assert store.problem is None
        store.save_matches([(make_post(2, "cats"), ["cats"])])
        assert [p.id for p in store.latest("cats")] == ["2", "1"]
    finally:
        store.close()


def test_a_closed_store_is_unavailable_not_a_programming_error(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.sqlite3")
    store.close()
    with pytest.raises(StoreUnavailable):
        store.latest("cats")
    with pytest.raises(StoreUnavailable):
        store.set_state("x", 1)
