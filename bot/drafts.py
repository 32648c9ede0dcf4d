"""Drafts that close the loop. A customer group takes no post from the bot, so its answers (intake, claim,
result…) go privately to the duty cadre to paste (bot/outbound.py). The chat archive hears the group: when a
cadre of the village posts the draft's words there — pasted as given, or edited — the draft counts as posted,
and an answer about a case is that case's first response if it had none. A draft that stays unposted is pressed
like a late case (schedules/draft_nags.py); these functions are the rules both use.

Every function runs inside the caller's write transaction."""
from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from bot import cases, ledger
from bot.clock import local
from bot.config import Rules
from bot.inbox import Message
from bot.workdays import WorkCalendar

HEADER = re.compile(r"【请发到\S*?群】[^\n]*\n?")    # the line of how, in case the cadre pasted it too
MENTION = re.compile(r"[@＠]\S+")
NUMBER = re.compile(r"(?<![0-9A-Za-z-])\d{3,6}(?![0-9])")     # a request's number (101…); not a phone, not a date
LOOKBACK = timedelta(days=5)      # the archive serves its last 5 days: an older draft cannot be seen posted now
# How alike a cadre's post and a draft must be (difflib's ratio over the words, punctuation and spaces aside).
# A cadre may shorten or reword a draft, so its case number plus half its words is enough; without the number
# (deleted while editing), most of the words must be there.
WITH_NUMBER = 0.5
WITHOUT_NUMBER = 0.8
FIRST_RESPONSES = ("intake", "claim", "result")   # answers that are the resident's first word back
PURPOSE_NAMES = {"intake": "受理答复", "claim": "认领答复", "progress": "进展答复", "result": "办结答复",
                 "passed_up": "上报答复"}


@dataclass(frozen=True)
class Draft:
    id: int
    village: str
    text: str
    created_at: datetime
    case_id: int | None
    number: str | None
    purpose: str
    handed_to: tuple[str, ...]


def record(db: Database, *, village: str, text: str, handed_to: list[str], now: datetime, case_id: int,
           purpose: str) -> int:
    """Keep a draft about a case until it is seen posted (called by Outgoing as it hands the draft over)."""
    return db["group_posts"].insert({
        "village": village, "day": now.date().isoformat(), "text": text, "created_at": now.isoformat(),
        "kind": "draft", "case_id": case_id, "purpose": purpose, "handed_to": json.dumps(handed_to),
        "status": "waiting"}).last_rowid


def waiting(db: Database, village: str | None = None, since: datetime | None = None) -> list[Draft]:
    where, args = ["p.kind = 'draft'", "p.status = 'waiting'"], []
    if village is not None:
        where.append("p.village = ?")
        args.append(village)
    if since is not None:
        where.append("p.created_at >= ?")
        args.append(since.isoformat())
    rows = db.execute(
        "SELECT p.id, p.village, p.text, p.created_at, p.case_id, c.number, p.purpose, p.handed_to "
        "FROM group_posts p LEFT JOIN cases c ON c.id = p.case_id "
        f"WHERE {' AND '.join(where)} ORDER BY p.id", args).fetchall()
    return [Draft(r[0], r[1], r[2], local(r[3]), r[4], r[5], r[6] or "",
                  tuple(json.loads(r[7] or "[]"))) for r in rows]


def _words(text: str) -> str:
    text = MENTION.sub("", HEADER.sub("", text))
    return "".join(ch for ch in text if ch.isalnum())


def likeness(draft: str, said: str) -> float:
    return difflib.SequenceMatcher(None, _words(draft), _words(said), autojunk=False).ratio()


def is_posting(draft: Draft, said: str) -> bool:
    """Whether a group message is this draft, posted. Its case number and half its words, or most of its words
    without the number; never a post that names another case's number (the same answer about another case)."""
    numbers = set(NUMBER.findall(said))
    if draft.number and numbers - {draft.number}:
        return False
    named = bool(draft.number) and draft.number in numbers
    return likeness(draft.text, said) >= (WITH_NUMBER if named else WITHOUT_NUMBER)


def posted(db: Database, msg: Message, now: datetime) -> Draft | None:
    """A village cadre's group message that is a waiting draft, posted: the draft is marked (when, which message,
    by whom), earlier waiting drafts of the same case are superseded (the residents have a later word), and an
    intake, claim or result answer is the case's first response if it had none. Returns the draft, or None."""
    village = msg.village
    if village is None or village.cadre(msg.sender) is None or not msg.words:
        return None
    candidates = [d for d in waiting(db, village.name, since=msg.received_at - LOOKBACK)
                  if d.created_at <= msg.received_at and is_posting(d, msg.words)]
    if not candidates:
        return None
    draft = max(candidates, key=lambda d: (likeness(d.text, msg.words), d.id))
    db.execute("UPDATE group_posts SET status = 'posted', posted_at = ?, posted_msgid = ?, posted_by = ? "
               "WHERE id = ?", [msg.received_at.isoformat(), msg.msgid, msg.sender, draft.id])
    if draft.case_id is not None:
        db.execute("UPDATE group_posts SET status = 'superseded' WHERE kind = 'draft' AND status = 'waiting' "
                   "AND case_id = ? AND id < ?", [draft.case_id, draft.id])
        case = cases.get_by_id(db, draft.case_id)
        if draft.purpose in FIRST_RESPONSES and case.first_response_at is None:
            cases.append(db, case.id, actor=msg.sender, action="responded", now=now,
                         note=f"在群里发出了小微拟好的{PURPOSE_NAMES[draft.purpose]}",
                         state={"first_response_at": msg.received_at})
    return draft


# --- late drafts: what the nag job reads ------------------------------------------------------------------

@dataclass(frozen=True)
class Late:
    draft: Draft
    deadline: datetime
    spans: int            # whole draft_post_hours spans past the deadline: the rung it has reached


def late(db: Database, calendar: WorkCalendar, rules: Rules, at: datetime) -> list[Late]:
    """Waiting drafts past their draft_post_hours (working hours) as of `at`. A draft whose case was dismissed
    or turned out to be a report is no longer waiting for anyone: it is superseded here instead."""
    found = []
    for draft in waiting(db):
        if draft.case_id is not None:
            case = cases.get_by_id(db, draft.case_id)
            if case.status in ("dismissed", "released") or case.confidential:
                db.execute("UPDATE group_posts SET status = 'superseded' WHERE id = ?", [draft.id])
                continue
        hours = rules.draft_post_hours
        deadline = calendar.add_work_hours(draft.created_at, hours, rules.work_start, rules.work_end)
        if at < deadline:
            continue
        past = calendar.work_hours_between(deadline, at, rules.work_start, rules.work_end)
        found.append(Late(draft, deadline, int(past // hours)))
    return found


def record_nag(db: Database, draft: Draft, rung: str, userids: list[str], at: datetime) -> bool:
    """Each rung of a draft's ladder is pressed once; True when this one is new."""
    cursor = db.execute("INSERT OR IGNORE INTO draft_nags (post_id, rung, userids, at) VALUES (?, ?, ?, ?)",
                        [draft.id, rung, json.dumps(userids), at.isoformat()])
    if not cursor.rowcount:
        return False
    ledger.add(db, "draft_nags", cursor.lastrowid)
    return True
