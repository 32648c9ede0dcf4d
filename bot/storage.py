"""SQLite storage kept off the event loop: every write goes through one writer thread, in one transaction;
reads run on a small pool of read-only connections. WAL lets the readers work while the writer commits."""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, TypeVar

from sqlite_utils import Database

from bot import ledger
from bot.schema import MIGRATIONS

T = TypeVar("T")


def connect(path: Path | str, *, migrate: bool = True, audit_key: bytes | None = None,
            adopt: bool = True) -> Database:
    """A configured connection; migrations are applied when asked (the writer and the CLI do). Only a connection
    given the audit key can write facts (bot/ledger.py); with `adopt`, it first seals, once, the records of a
    database from before the ledger."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = Database(path)
    db.execute("PRAGMA busy_timeout = 5000")
    if str(path) != ":memory:":
        db.enable_wal()
        # FULL: a row WeCom was told we received must survive a power cut, not only a process crash.
        db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA foreign_keys = ON")
    if migrate:
        MIGRATIONS.apply(db)
    if audit_key is not None:
        ledger.use_key(db, audit_key)
        if migrate and adopt:
            with db.atomic():
                ledger.adopt(db)
    return db


def insert_once(db: Database, table: str, row: dict, *, sealed: bool = False) -> bool:
    """Insert unless a UNIQUE constraint already holds this row; True when the row is new. `sealed`: the row is a
    recorded fact, so a new one gets its ledger entry in the same transaction.
    (total_changes, not lastrowid: an ignored insert leaves lastrowid at the previous row.)"""
    before = db.conn.total_changes
    db[table].insert(row, ignore=True)
    new = db.conn.total_changes > before
    if new and sealed:
        ledger.add(db, table, db.execute("SELECT last_insert_rowid()").fetchone()[0])
    return new


class Store:
    """Async face of the database. `write(fn)` runs fn(db) in a transaction on the single writer thread."""

    def __init__(self, path: Path | str, *, audit_key: bytes | None = None, adopt: bool = True):
        self.path, self._audit_key, self._adopt = path, audit_key, adopt
        self._memory = str(path) == ":memory:"
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._readers = self._writer if self._memory else ThreadPoolExecutor(2, thread_name_prefix="sqlite-reader")
        self._local = threading.local()
        self._write_db: Database | None = None
        # Migrations run on the writer thread before anything else can touch the database.
        self._writer.submit(self._open_writer).result()

    def _open_writer(self) -> None:
        self._write_db = connect(self.path, audit_key=self._audit_key, adopt=self._adopt)

    def _reader_db(self) -> Database:
        if self._memory:
            assert self._write_db is not None
            return self._write_db
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = connect(self.path, migrate=False)
            db.execute("PRAGMA query_only = ON")
        return db

    def _run_write(self, fn: Callable[..., T], args: tuple) -> T:
        assert self._write_db is not None
        with self._write_db.atomic():
            return fn(self._write_db, *args)

    async def write(self, fn: Callable[..., T], *args) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writer, self._run_write, fn, args)

    async def read(self, fn: Callable[..., T], *args) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._readers, lambda: fn(self._reader_db(), *args))

    def write_sync(self, fn: Callable[..., T], *args) -> T:
        """For the CLI and scripts that run no event loop."""
        return self._writer.submit(self._run_write, fn, args).result()

    def read_sync(self, fn: Callable[..., T], *args) -> T:
        return self._readers.submit(lambda: fn(self._reader_db(), *args)).result()

    def close(self) -> None:
        def close_writer() -> None:
            if self._write_db is not None:
                self._write_db.close()
        self._writer.submit(close_writer).result()
        self._writer.shutdown(wait=True)
        if self._readers is not self._writer:
            self._readers.shutdown(wait=True)
