"""The keyed ledger: one append-only entry per recorded fact, written in the fact's own transaction and chained
with HMAC-SHA256 under a key kept outside the database, so that rewriting the database alone cannot re-seal it.
The chain's head is anchored outside the database too (the inspectors' digest and the anchor file)."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import sqlite3
import weakref
from datetime import date
from itertools import groupby
from pathlib import Path
from typing import Iterable

from sqlite_utils import Database

from bot.config import Config

log = logging.getLogger("xiaowei.audit")

GENESIS = "0" * 64
KEY_FILE = "xiaowei.audit-key"

# The columns of each table that are the fact. What is left out legitimately changes once: a message's handling
# status; an outbox row's retries. An outbox row is a fact once sent. Never edit a list: the digests already
# written depend on it; a new column is a new table entry kind, not a change here.
FACTS: dict[str, tuple[str, ...]] = {
    "messages": ("id", "channel", "msgid", "chat_id", "chattype", "village", "sender", "sender_name", "text",
                 "mentions_bot", "response_url", "received_at"),
    "cases": ("id", "number", "message_id", "town", "village", "kind", "confidence", "text", "requester", "chat_id",
              "received_at"),
    "events": ("id", "case_id", "at", "actor", "action", "detail", "prev_hash", "hash"),
    "outbox": ("id", "kind", "target", "lane", "payload", "dedupe", "created_at", "sent_at"),
    "nags": ("id", "case_id", "rung", "day", "userids", "at"),
    "corrections": ("id", "case_id", "text", "old_label", "label", "actor", "at"),
    "job_runs": ("id", "job", "target", "day", "ran_at"),
    "draft_nags": ("id", "post_id", "rung", "userids", "at"),
    "publicity": ("id", "number", "version", "action", "town", "village", "item", "period", "title", "body", "media",
                  "posted_on", "ends_on", "actor", "at", "message_id", "note"),
    "publicity_nags": ("id", "village", "item", "period", "rung", "day", "userids", "at"),
    # A view (migration 0021): a message's quote and media, for the messages that have either.
    "message_extras": ("id", "media", "quote"),
}
RECORDED = {"outbox": "status = 'sent'"}    # which rows of a table are facts (default: all)


NO_KEY = "this connection has no audit key: connect(path, audit_key=…)"


class MissingKey(RuntimeError):
    """A fact was written on a connection that was given no audit key: it could not be sealed."""


def facts_sql(table: str) -> str:
    # SQLite renders the stored values itself, so the writer and the verifier see the very same text.
    return f"json_array({', '.join(FACTS[table])})"


def digest(facts: str) -> str:
    return hashlib.sha256(facts.encode("utf-8")).hexdigest()


_MATERIAL = json.JSONEncoder(separators=(",", ":")).encode    # json.dumps(…, separators=…), built once


def seal(key: bytes, prev_hash: str, table: str, row_id: int, row_digest: str, last_id: int | None = None) -> str:
    """The entry's HMAC. An entry for a run of rows (`last_id`: its last row) seals five values, so that it can never
    be read as the entry of one row."""
    if last_id is not None:
        return hmac.digest(key, _MATERIAL([prev_hash, table, row_id, last_id, row_digest]).encode("utf-8"),
                           "sha256").hex()
    if type(row_id) is int and table in FACTS and _plain(prev_hash) and _plain(row_digest):
        # The very text _MATERIAL renders for two hex strings, a table's name and an id, without the encoder's
        # Python loop: a province's morning seals a million nags (tests/test_audit.py compares the two).
        material = _plain_material(prev_hash, table, row_id, row_digest)
    else:
        material = _MATERIAL([prev_hash, table, row_id, row_digest])     # e.g. a tampered entry, being verified
    return hmac.digest(key, material.encode("utf-8"), "sha256").hex()     # one call into OpenSSL


def _plain_material(prev_hash: str, table: str, row_id: int, row_digest: str) -> str:
    return f'["{prev_hash}","{table}",{row_id:d},"{row_digest}"]'


def _plain(text: object) -> bool:
    """ASCII letters and digits only: what JSON writes as it is between its quotes."""
    return type(text) is str and text.isascii() and text.isalnum()


def use_key(db: Database, key: bytes) -> None:
    """Let this connection seal facts. The key lives with the connection only (in its functions, and beside its
    Database object in this process's memory, for add_many), never in a table."""
    db.conn.create_function("xiaowei_digest", 1, digest, deterministic=True)
    db.conn.create_function("xiaowei_seal", 4, lambda p, t, r, d: seal(key, p, t, r, d), deterministic=True)
    _KEYS[db] = key


_KEYS: "weakref.WeakKeyDictionary[Database, bytes]" = weakref.WeakKeyDictionary()     # use_key's, per connection


def add(db: Database, table: str, row_id: int) -> None:
    """Seal one fact row inside the caller's transaction: one INSERT that reads the row by its primary key and
    the chain's head by the ledger's (no history is re-read)."""
    try:
        db.execute(
            f"INSERT INTO ledger (tbl, row_id, digest, prev_hash, hash) "
            f"SELECT ?, f.id, f.d, p.h, xiaowei_seal(p.h, ?, f.id, f.d) FROM "
            f"(SELECT id, xiaowei_digest({facts_sql(table)}) AS d FROM {table} WHERE id = ?) AS f, "
            f"(SELECT COALESCE((SELECT hash FROM ledger ORDER BY id DESC LIMIT 1), ?) AS h) AS p",
            [table, table, row_id, GENESIS])
    except sqlite3.OperationalError as exc:
        _missing_key(exc)
        raise


def run_digest(row_digests: Iterable[str]) -> str:
    """The digest of a run of rows: of their own digests, in the order of their ids."""
    return digest("\n".join(row_digests))


def add_many(db: Database, table: str, row_ids: Iterable[int]) -> None:
    """Seal many fact rows of one table inside the caller's transaction. Each run of consecutive ids (the rows one
    INSERT wrote) gets one entry, sealing the digests of all its rows and its first and last id; a lone row gets
    the entry `add` makes. A province's morning records a million nags: one entry per village's batch, not one
    per nag, keeps the ledger (and the WAL) a hundred times smaller and costs a read of the rows, not a write."""
    ids = sorted(row_ids)
    if not ids:
        return
    key = _KEYS.get(db)
    if key is None:
        raise MissingKey(NO_KEY)
    for _, run in groupby(enumerate(ids), key=lambda pair: pair[1] - pair[0]):   # a run shares id − position
        run = list(run)
        low, high = run[0][1], run[-1][1]
        if low == high:
            add(db, table, low)
            continue
        facts = db.execute(f"SELECT {facts_sql(table)} FROM {table} WHERE id BETWEEN ? AND ? ORDER BY id",
                           [low, high]).fetchall()
        if len(facts) != high - low + 1:
            raise AssertionError(f"{table} rows {low}–{high} are not all there to be sealed")
        sealed = run_digest(digest(text) for text, in facts)
        prev = head(db)[1]
        db.execute("INSERT INTO ledger (tbl, row_id, last_row_id, digest, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?)",
                   [table, low, high, sealed, prev, seal(key, prev, table, low, sealed, high)])


def _missing_key(exc: sqlite3.OperationalError) -> None:
    if "no such function" in str(exc):
        raise MissingKey(NO_KEY) from exc


def adopt(db: Database) -> int:
    """Seal, once, the facts written before the ledger existed (up to migration 0005's baseline, as they stand
    now); returns how many. A ledger that already has entries is never adopted again."""
    if db.execute("SELECT 1 FROM ledger LIMIT 1").fetchone():
        return 0
    count = 0
    for table, last_id in db.execute("SELECT tbl, last_id FROM ledger_baseline WHERE last_id > 0").fetchall():
        where = f" AND {RECORDED[table]}" if table in RECORDED else ""
        for (row_id,) in db.execute(f"SELECT id FROM {table} WHERE id <= ?{where} ORDER BY id", [last_id]).fetchall():
            add(db, table, row_id)
            count += 1
    if count:
        log.info("sealed %s records written before the audit chain existed", count)
    return count


def predates(db: Database) -> bool:
    """Whether this database held records before the ledger existed (sealed on adoption, not when written)."""
    return db.execute("SELECT 1 FROM ledger_baseline WHERE last_id > 0 LIMIT 1").fetchone() is not None


def head(db: Database) -> tuple[int, str]:
    """(entry number, hash) of the newest entry; (0, GENESIS) for an empty ledger."""
    row = db.execute("SELECT id, hash FROM ledger ORDER BY id DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, GENESIS)


# --- the key --------------------------------------------------------------------------------------------

def key_file(config: Config) -> Path:
    return config.path.parent / KEY_FILE


def signing_key(config: Config, *, create: bool = False) -> bytes | None:
    """The audit key: `[audit] key` (which may be "env:NAME", or be set by XIAOWEI_AUDIT_KEY), else the key file
    beside the configuration. With `create`, a missing key file is made (mode 0600) and a warning logged."""
    if config.audit.key:
        return config.audit.key.encode("utf-8")
    path = key_file(config)
    try:
        return path.read_text(encoding="utf-8").strip().encode("utf-8")
    except FileNotFoundError:
        if not create:
            return None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:     # another process made it a moment ago
        return path.read_text(encoding="utf-8").strip().encode("utf-8")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    log.warning("no [audit] key configured: created the audit key file %s; keep it apart from database backups",
                path)
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


# --- anchors --------------------------------------------------------------------------------------------

def append_anchor(path: Path, day: date, count: int, head_hash: str) -> None:
    """One JSON line per day, appended: the file is never rewritten."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"day": day.isoformat(), "count": count, "head": head_hash}) + "\n")


def read_anchors(path: Path) -> list[dict]:
    anchors = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            anchor = json.loads(line)
            anchors.append({"day": str(anchor["day"]), "count": int(anchor["count"]), "head": str(anchor["head"])})
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{path} 第 {n} 行不是有效的锚点记录") from None
    return anchors
