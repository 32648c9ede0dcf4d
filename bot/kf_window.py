"""微信客服's reply window, and what the bot does about it — in one place.

WeCom lets a kf account answer a resident only within 48 hours of the resident's last message, and at most 5
times in that span (kf/send_msg, path/94677); each new message from the resident opens the window again.
- Inside the window a reply goes out through the outbox (kind "kf", sent by kf/send_msg).
- Outside it (a 6th reply, or news about a case days later) the reply is NOT sent: it is kept in kf_held and
  sent, as one message, the next time the resident writes (which re-opens the window). A reply WeCom itself
  refuses as outside the window (95001: its clock or count saw it otherwise) is kept the same way.
- When the kept reply is news about a village case (claimed, progress, done, passed up), the case's holder is
  told privately that the resident did not get it, so that they can tell the resident another way
  (casework.tell_requester). A reply about a report is never shown to anyone but the reporter.
Every function runs inside the caller's write transaction."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

REPLIES = 5
WINDOW = timedelta(hours=48)
HELD_HEAD = "您之前的消息，小微当时没能回复，现在补上："


@dataclass(frozen=True)
class KfCustomer:
    external_userid: str
    open_kfid: str
    village: str | None
    last_message_at: datetime | None


def customer(db: Database, external_userid: str) -> KfCustomer | None:
    row = db.execute("SELECT external_userid, open_kfid, village, last_message_at FROM kf_customers "
                     "WHERE external_userid = ?", [external_userid]).fetchone()
    if row is None:
        return None
    return KfCustomer(row[0], row[1], row[2], datetime.fromisoformat(row[3]) if row[3] else None)


def entered(db: Database, external_userid: str, open_kfid: str, village: str | None, scene: str,
            at: datetime) -> None:
    """enter_session: the resident came in through a village's link. An unknown scene_param keeps what we knew."""
    db.execute("INSERT INTO kf_customers (external_userid, open_kfid, village, scene, entered_at) "
               "VALUES (?, ?, ?, ?, ?) ON CONFLICT (external_userid) DO UPDATE SET open_kfid = excluded.open_kfid, "
               "village = COALESCE(excluded.village, village), scene = excluded.scene, entered_at = excluded.entered_at",
               [external_userid, open_kfid, village, scene, at.isoformat()])


def wrote(db: Database, external_userid: str, open_kfid: str, at: datetime) -> None:
    """The resident's message: the window opens again from its time."""
    db.execute("INSERT INTO kf_customers (external_userid, open_kfid, last_message_at) VALUES (?, ?, ?) "
               "ON CONFLICT (external_userid) DO UPDATE SET open_kfid = excluded.open_kfid, "
               "last_message_at = MAX(COALESCE(last_message_at, ''), excluded.last_message_at)",
               [external_userid, open_kfid, at.isoformat()])


def closed(db: Database, found: KfCustomer, now: datetime) -> str | None:
    """Why a reply now would be refused: "48h" (too long since the resident wrote), "5" (five replies already
    since), or None (it may go). Reasons kept: these two, and "refused" (WeCom said 95001 when it was sent)."""
    if found.last_message_at is None or now - found.last_message_at >= WINDOW:
        return "48h"
    since = found.last_message_at
    created = db.execute("SELECT created_at FROM outbox WHERE kind = 'kf' AND target = ? AND status != 'held' "
                         "ORDER BY id DESC LIMIT ?",
                         [found.external_userid, REPLIES]).fetchall()
    return "5" if sum(datetime.fromisoformat(r[0]) >= since for r in created) >= REPLIES else None


def hold(db: Database, external_userid: str, text: str, reason: str, now: datetime) -> None:
    db.execute("INSERT INTO kf_held (external_userid, text, reason, created_at) VALUES (?, ?, ?, ?)",
               [external_userid, text, reason, now.isoformat()])


def take_held(db: Database, external_userid: str, now: datetime) -> str | None:
    """The replies kept for this resident, as one message (marked sent-on), or None."""
    rows = db.execute("SELECT id, text FROM kf_held WHERE external_userid = ? AND resent_at IS NULL ORDER BY id",
                      [external_userid]).fetchall()
    if not rows:
        return None
    db.execute(f"UPDATE kf_held SET resent_at = ? WHERE id IN ({', '.join('?' * len(rows))})",
               [now.isoformat(), *(r[0] for r in rows)])
    return HELD_HEAD + "\n" + "\n".join(f"· {r[1]}" for r in rows)
