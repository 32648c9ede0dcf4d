"""The database schema as numbered migrations, applied at start-up and recorded in the database.
Never edit a migration that has shipped: add the next number."""
from __future__ import annotations

from sqlite_utils import Database, Migrations

MIGRATIONS = Migrations("xiaowei")


@MIGRATIONS(name="0001_messages_outbox_alerts")
def m0001(db: Database) -> None:
    # Every inbound message, committed before WeCom is told it was received.
    db.execute("""
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,              -- aibot | app | bridge
            msgid TEXT NOT NULL,
            chat_id TEXT,
            chattype TEXT NOT NULL,             -- group | single
            village TEXT,
            sender TEXT NOT NULL,
            sender_name TEXT,
            text TEXT NOT NULL,
            mentions_bot INTEGER NOT NULL DEFAULT 1,
            response_url TEXT,
            received_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'new', -- new | done | failed | unrouted
            handler TEXT,
            handled_at TEXT,
            error TEXT,
            UNIQUE (channel, msgid)
        )""")
    db.execute("CREATE INDEX messages_status ON messages (status)")
    db.execute("CREATE INDEX messages_village_time ON messages (village, received_at)")
    # Every outbound message; a row leaves 'pending' only when WeCom accepted it (or it is given up, loudly).
    db.execute("""
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,                 -- robot | app | response
            target TEXT NOT NULL,               -- robot key | touser | response_url
            lane TEXT NOT NULL,                 -- ordering and rate-limit unit
            payload TEXT NOT NULL,
            dedupe TEXT UNIQUE,
            created_at TEXT NOT NULL,
            not_before TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'pending', -- pending | sent | dead
            sent_at TEXT,
            last_error TEXT
        )""")
    db.execute("CREATE INDEX outbox_pending ON outbox (status, lane, id)")
    db.execute("CREATE INDEX outbox_lane_sent ON outbox (lane, sent_at)")
    db.execute("""
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            text TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""")
