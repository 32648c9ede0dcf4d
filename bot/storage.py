"""SQLite storage kept off the event loop: every write goes through one writer thread, in one transaction;
reads run on a small pool of read-only connections. WAL lets the readers work while the writer commits."""
from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
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
    # Plain SQL: sqlite-utils' insert first looks the table and its columns up, several statements a row, and
    # this runs for every callback on the writer thread.
    columns = list(row)
    db.conn.execute(f"INSERT OR IGNORE INTO [{table}] ({', '.join(f'[{c}]' for c in columns)}) "
                    f"VALUES ({', '.join('?' * len(columns))})", [row[c] for c in columns])
    new = db.conn.total_changes > before
    if new and sealed:
        ledger.add(db, table, db.conn.execute("SELECT last_insert_rowid()").fetchone()[0])
    return new


@dataclass
class _Job:
    fn: Callable[..., object]
    args: tuple
    future: Future | None
    batched: bool       # a write: may share its transaction (and its fsync) with the writes queued beside it
    # An async caller's own future, answered on its loop: a batch's callers are all answered in one hop to the
    # loop, where a concurrent Future each cost a lock, a chained future and a wake-up of the loop each.
    waiter: asyncio.Future | None = None

    def start(self) -> bool:
        """False when the caller was cancelled before the job ran: nobody waits for it, so it is skipped. (A
        caller cancelled just after this runs still has its write done, as a concurrent Future's would.)"""
        if self.waiter is not None:
            return not self.waiter.cancelled()
        assert self.future is not None
        return self.future.set_running_or_notify_cancel()


class Store:
    """Async face of the database. `write(fn)` runs fn(db) in a transaction on the single writer thread.

    Group commit: writes that queue up while the writer is busy run together, each in its own savepoint, and
    share one COMMIT (one fsync). Every caller is answered only after that COMMIT, so a callback that answers
    WeCom 200 after `write` still answers only what is durable; a failing write rolls back only its savepoint."""

    MAX_BATCH = 64

    def __init__(self, path: Path | str, *, audit_key: bytes | None = None, adopt: bool = True):
        self.path, self._audit_key, self._adopt = path, audit_key, adopt
        self._memory = str(path) == ":memory:"
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="sqlite-writer", daemon=True)
        self._readers = None if self._memory else ThreadPoolExecutor(2, thread_name_prefix="sqlite-reader")
        self._local = threading.local()
        self._write_db: Database | None = None
        self.commits = 0            # transactions committed by the writer (group commit makes this < writes)
        self._thread.start()
        # Migrations run on the writer thread before anything else can touch the database.
        self._call(self._open_writer).result()

    def _open_writer(self, _: None = None) -> None:
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

    # --- the writer thread ------------------------------------------------------------------------------
    def _submit(self, fn: Callable[..., object], args: tuple, batched: bool) -> Future:
        job = _Job(fn, args, Future(), batched)
        self._queue.put(job)
        return job.future

    def _call(self, fn: Callable[..., T], *args) -> Future:
        return self._submit(fn, args, batched=False)

    def _serve(self) -> None:
        held: _Job | None = None
        while True:
            job = held or self._queue.get()
            held = None
            if job is None:
                return
            if not job.start():
                continue        # its caller was cancelled (a stopping task): nobody waits for it, skip it
            if not job.batched:
                _settle(job.future, lambda: job.fn(None, *job.args) if self._write_db is None
                        else job.fn(self._write_db, *job.args))
                continue
            batch = [job]
            while len(batch) < self.MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None or not nxt.batched:
                    held = nxt if nxt is not None else None
                    if nxt is None:
                        self._queue.put(None)   # stop after this batch
                    break
                if nxt.start():
                    batch.append(nxt)
            self._run_batch(batch)

    def _run_batch(self, batch: list[_Job]) -> None:
        db = self._write_db
        assert db is not None
        outcomes: list[tuple[_Job, object, BaseException | None]] = []
        try:
            # IMMEDIATE: take the write lock up front (waiting up to busy_timeout), so a second process on the
            # same database makes us wait instead of failing a read-to-write upgrade with "database is locked".
            db.execute("BEGIN IMMEDIATE")
            for job in batch:
                try:
                    with db.atomic():               # a savepoint: this write alone rolls back if it fails
                        outcomes.append((job, job.fn(db, *job.args), None))
                except BaseException as exc:  # noqa: BLE001 - handed to its own caller
                    outcomes.append((job, None, exc))
            db.execute("COMMIT")
            self.commits += 1
        except BaseException as exc:  # noqa: BLE001 - the transaction failed: nobody's write is durable
            if db.conn.in_transaction:
                db.conn.rollback()
            _answer([(job, None, exc) for job in batch])
            return
        _answer(outcomes)

    # --- the async and sync faces -----------------------------------------------------------------------
    async def write(self, fn: Callable[..., T], *args) -> T:
        waiter = asyncio.get_running_loop().create_future()
        self._queue.put(_Job(fn, args, None, True, waiter))
        return await waiter

    async def read(self, fn: Callable[..., T], *args) -> T:
        if self._readers is None:
            return await asyncio.wrap_future(self._call(fn, *args))
        return await asyncio.get_running_loop().run_in_executor(self._readers, lambda: fn(self._reader_db(), *args))

    def write_sync(self, fn: Callable[..., T], *args) -> T:
        """For the CLI and scripts that run no event loop."""
        return self._submit(fn, args, batched=True).result()

    def read_sync(self, fn: Callable[..., T], *args) -> T:
        if self._readers is None:
            return self._call(fn, *args).result()
        return self._readers.submit(lambda: fn(self._reader_db(), *args)).result()

    def close(self) -> None:
        def close_writer(db: Database | None) -> None:
            if db is not None:
                db.close()
        self._call(close_writer).result()
        self._queue.put(None)
        self._thread.join()
        if self._readers is not None:
            self._readers.shutdown(wait=True)


def _answer(outcomes: list[tuple[_Job, object, BaseException | None]]) -> None:
    """Hand each job its outcome: a sync caller's Future here, the async callers' in one call on their loop."""
    waiting: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, object, BaseException | None]]] = {}
    for job, result, exc in outcomes:
        if job.waiter is not None:
            waiting.setdefault(job.waiter.get_loop(), []).append((job.waiter, result, exc))
        elif exc is not None:
            job.future.set_exception(exc)
        else:
            job.future.set_result(result)
    for loop, answers in waiting.items():
        if not loop.is_closed():             # a stopped service's loop: nobody is left to answer
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, answers)


def _resolve(answers: list[tuple[asyncio.Future, object, BaseException | None]]) -> None:
    """Give each waiting future its result or exception, on its own loop; one cancelled meanwhile is left be."""
    for waiter, result, exc in answers:
        if waiter.done():                    # cancelled while its write ran
            continue
        if exc is None:
            waiter.set_result(result)
        else:
            waiter.set_exception(exc)


def _settle(future: Future, work: Callable[[], object]) -> None:
    try:
        future.set_result(work())
    except BaseException as exc:  # noqa: BLE001 - handed to the caller
        future.set_exception(exc)
