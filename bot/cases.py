"""Cases (诉求) and their history: intake facts are written once; every change is an appended, hash-chained
event whose `state` part is folded into `case_state` in the same transaction."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, Iterable, Iterator

from sqlite_utils import Database

from bot import ledger

REQUEST_KINDS = ("consult", "help", "suggestion", "disclosure")
KIND_NAMES = {"consult": "咨询", "help": "求助", "suggestion": "建议", "disclosure": "信息公开问题",
              "report": "举报", "followup": "催办", "chatter": "闲聊"}
LABEL_WORDS = {"咨询": "consult", "求助": "help", "建议": "suggestion", "公开": "disclosure", "信息公开": "disclosure",
               "举报": "report", "闲聊": "chatter", "催办": "followup"}
LEVEL_NAMES = {"village": "村", "town": "镇", "county": "县纪委监委"}
LEVELS = ("village", "town", "county")
ACTIVE = ("unconfirmed", "open")          # still waiting for the village (or town) to act
DONE = ("answered", "closed")
STATUS_NAMES = {"unconfirmed": "待确认", "open": "办理中", "answered": "已办结", "closed": "已评价",
                "dismissed": "不予登记",
                "released": "已转为普通诉求"}
GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)   # slots: a morning pass holds many thousands at once
class Case:
    id: int
    number: str
    town: str
    village: str
    text: str
    requester: str
    chat_id: str | None
    received_at: datetime
    confidence: float | None
    kind: str
    status: str
    level: str
    due_at: datetime
    escalate_by: datetime | None
    assignee: str | None
    first_response_at: datetime | None
    answered_at: datetime | None
    rating: str | None
    supervised: bool
    stage: str | None = None        # a clue's step in the ledger (bot/clue_ledger.py)
    outcome: str | None = None      # a closed clue's finding
    department: str | None = None   # the county department a case was handed to (交办)

    @property
    def confidential(self) -> bool:
        return self.kind == "report"

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind]

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def overdue(self, now: datetime) -> bool:
        return self.active and now > self.due_at


_DATES = {"received_at", "due_at", "escalate_by", "first_response_at", "answered_at"}
_SELECT = ("SELECT c.id, c.number, c.town, c.village, c.text, c.requester, c.chat_id, c.received_at, c.confidence, "
           "s.kind, s.status, s.level, s.due_at, s.escalate_by, s.assignee, s.first_response_at, s.answered_at, "
           "s.rating, s.supervised, s.stage, s.outcome, s.department FROM cases c JOIN case_state s ON s.case_id = c.id")


_FIELDS = tuple(f.name for f in fields(Case))     # once, not per row: a morning pass builds a province's cases
_DATED = tuple(n for n, name in enumerate(_FIELDS) if name in _DATES)
_SUPERVISED = _FIELDS.index("supervised")


def _case(row: dict) -> Case:
    values = {k: (datetime.fromisoformat(v) if k in _DATES and v else v) for k, v in row.items()}
    values["supervised"] = bool(values["supervised"])
    return Case(**{name: values[name] for name in _FIELDS})


def _cases(db: Database, sql: str, args: list) -> Iterator[Case]:
    """Cases from a query of _SELECT's columns, read as tuples in Case's field order (no dictionary per row: a
    province's morning reads a million)."""
    cursor = db.execute(sql, args)
    if tuple(d[0] for d in cursor.description) != _FIELDS:
        raise AssertionError("the query's columns are not Case's fields in order")
    for row in cursor:
        values = list(row)
        for n in _DATED:
            if values[n]:
                values[n] = datetime.fromisoformat(values[n])
        values[_SUPERVISED] = bool(values[_SUPERVISED])
        yield Case(*values)


def chain_hash(prev_hash: str, case_id: int, at: str, actor: str, action: str, detail: str) -> str:
    material = json.dumps([prev_hash, case_id, at, actor, action, detail], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def append(db: Database, case_id: int, *, actor: str, action: str, now: datetime, note: str = "",
           state: dict[str, Any] | None = None, **extra: Any) -> None:
    """Add an event and apply its state changes. The only way a case ever changes."""
    state = {k: _iso(v) for k, v in (state or {}).items()}
    detail = json.dumps({"note": note, "state": state, **extra}, ensure_ascii=False, sort_keys=True)
    head = db.execute("SELECT hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
    prev = head[0] if head else GENESIS
    at = now.isoformat()
    cursor = db.execute(
        "INSERT INTO events (case_id, at, actor, action, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [case_id, at, actor, action, detail, prev, chain_hash(prev, case_id, at, actor, action, detail)])
    ledger.add(db, "events", cursor.lastrowid)
    if action == "opened":
        db.execute("INSERT INTO case_state (case_id, kind, status, level, due_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                   [case_id, state["kind"], state["status"], state["level"], state["due_at"], at])
        rest = {k: v for k, v in state.items() if k not in ("kind", "status", "level", "due_at")}
    else:
        rest = state
    if rest:
        sets = ", ".join(f"{k} = ?" for k in rest)
        db.execute(f"UPDATE case_state SET {sets}, updated_at = ? WHERE case_id = ?", [*rest.values(), at, case_id])


def open_case(db: Database, *, message_id: int | None, town: str, village: str, kind: str, text: str,
              requester: str, chat_id: str | None, received_at: datetime, due_at: datetime, now: datetime,
              confidence: float | None = None, status: str = "open", actor: str = "小微") -> Case:
    """Open a case once per message: a redelivered or re-handled message returns the case it already opened."""
    if message_id is not None and (existing := by_message(db, message_id)):
        return existing
    next_id = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM cases").fetchone()[0]
    number = _next_number(db, kind, town, received_at)
    db.execute("INSERT INTO cases (id, number, message_id, town, village, kind, confidence, text, requester, chat_id, "
               "received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               [next_id, number, message_id, town, village, kind, confidence, text, requester, chat_id,
                received_at.isoformat()])
    ledger.add(db, "cases", next_id)
    append(db, next_id, actor=actor, action="opened", now=now,
           state={"kind": kind, "status": status, "level": "village" if kind != "report" else "town",
                  "due_at": due_at},
           intake={"number": number, "town": town, "village": village, "kind": kind, "text": text,
                   "requester": requester, "received_at": received_at.isoformat()})
    return get_by_id(db, next_id)


def _next_number(db: Database, kind: str, town: str, received_at: datetime) -> str:
    """Requests count 101, 102, … across the county. Clues have their own numbers per town and year
    (J2026-007), so the request numbers show no gap where a clue was raised, nor when."""
    counter = f"clue:{town}:{received_at.year}" if kind == "report" else "request"
    value = db.execute("INSERT INTO counters (name, value) VALUES (?, 1) "
                       "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value", [counter]).fetchone()[0]
    return f"J{received_at.year}-{value:03d}" if kind == "report" else str(100 + value)


def is_clue_number(number: str) -> bool:
    return number.strip().upper().startswith("J")


def _one(db: Database, where: str, args: list) -> Case | None:
    row = next(db.query(_SELECT + " WHERE " + where, args), None)
    return _case(row) if row else None


def get_by_id(db: Database, case_id: int) -> Case:
    case = _one(db, "c.id = ?", [case_id])
    assert case is not None, case_id
    return case


def get(db: Database, number: str, *, town: str | None = None, requester: str | None = None) -> Case | None:
    """A case by the number people type. Clue numbers repeat across towns: give the town (an inspector's) or the
    requester (the reporter's own). Numbers are stored upper-case, so the unique index serves the look-up."""
    where, args = ["c.number = ?"], [number.strip().upper()]
    for column, value in (("c.town", town), ("c.requester", requester)):
        if value is not None and is_clue_number(number):
            where.append(f"{column} = ?")
            args.append(value)
    return _one(db, " AND ".join(where) + " ORDER BY c.id", args)


def by_message(db: Database, message_id: int) -> Case | None:
    return _one(db, "c.message_id = ?", [message_id])


def find(db: Database, *, village: str | None = None, town: str | None = None, statuses: Iterable[str] = (),
         requester: str | None = None, assignee: str | None = None, confidential: bool | None = False,
         since: datetime | None = None, answered_since: datetime | None = None,
         stream: bool = False) -> list[Case]:
    """Cases by filter; reports (clues) are left out unless asked for, so no village view can show them.
    stream: yield them one by one instead (a county-wide pass need not hold them all)."""
    where, args = [], []
    for column, value in (("c.village", village), ("c.town", town), ("c.requester", requester),
                          ("s.assignee", assignee)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    statuses = list(statuses)
    if statuses:
        where.append(f"s.status IN ({', '.join('?' * len(statuses))})")
        args += statuses
    if confidential is not None:
        where.append("s.kind = 'report'" if confidential else "s.kind != 'report'")
    for column, moment in (("c.received_at", since), ("s.answered_at", answered_since)):
        if moment is not None:
            where.append(f"{column} >= ?")   # ISO text, always in Asia/Shanghai: compares as time
            args.append(moment.isoformat())
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY c.id"
    # As tuples (_cases), not a dictionary a row: the writer runs this for every request heard, to find a case
    # it repeats.
    return list(_cases(db, sql, args)) if not stream else _cases(db, sql, args)


def active(db: Database) -> Iterator[Case]:
    """Every active case of the county, clues included, oldest first: one pass for a morning job instead of a
    query per village. Streamed, so the county is never all in memory."""
    marks = ", ".join("?" * len(ACTIVE))
    yield from _cases(db, f"{_SELECT} WHERE s.status IN ({marks}) ORDER BY c.id", list(ACTIVE))


def due_before(db: Database, day: date) -> Iterator[tuple[int, str, str, bool]]:
    """(id, town, village, whether the village holds it) of every active case whose deadline falls on a day before
    `day` (for a village case it marked beyond itself, the deadline to pass it up; the day as written, which is
    what Case.due_at.date() reads), oldest first: a morning pass over a province as bare columns."""
    marks = ", ".join("?" * len(ACTIVE))
    deadline = "CASE WHEN s.level = 'village' AND s.escalate_by IS NOT NULL THEN s.escalate_by ELSE s.due_at END"
    yield from db.execute(
        f"SELECT c.id, c.town, c.village, s.level = 'village' AND s.kind != 'report' FROM cases c "
        f"JOIN case_state s ON s.case_id = c.id WHERE s.status IN ({marks}) AND substr({deadline}, 1, 10) < ? "
        f"ORDER BY c.id", [*ACTIVE, day.isoformat()])


def active_or_recent(db: Database, received_since: datetime, answered_since: datetime) -> Iterator[Case]:
    """In one statement (three indexed look-ups), the active cases, those received since one moment and those
    answered since another: what a morning count that needs all three reads, in one pass. Streamed."""
    marks = ", ".join("?" * len(ACTIVE))
    sql = (f"{_SELECT} WHERE s.status IN ({marks}) UNION {_SELECT} WHERE c.received_at >= ? "
           f"UNION {_SELECT} WHERE s.status IN ('answered', 'closed') AND s.answered_at >= ? ORDER BY 1")
    for row in db.query(sql, [*ACTIVE, received_since.isoformat(), answered_since.isoformat()]):
        yield _case(row)


def open_counts(db: Database, senders: Iterable[str]) -> dict[tuple[str, str], int]:
    """How many requests each sender has waiting, per village, in one query (what routing a message needs)."""
    marks = ", ".join("?" * len(ACTIVE))
    rows = db.execute(f"SELECT c.requester, c.village, COUNT(*) FROM cases c JOIN case_state s ON s.case_id = c.id "
                      f"WHERE s.status IN ({marks}) AND s.kind != 'report' "
                      f"AND c.requester IN (SELECT value FROM json_each(?)) GROUP BY c.requester, c.village",
                      [*ACTIVE, json.dumps(sorted(set(senders)))]).fetchall()
    return {(sender, village): n for sender, village, n in rows}


def by_ids(db: Database, ids: Iterable[int]) -> dict[int, Case]:
    """Many cases by id in one query (the ids travel as one JSON parameter, however many)."""
    found = _cases(db, f"{_SELECT} WHERE c.id IN (SELECT value FROM json_each(?))", [json.dumps(list(ids))])
    return {case.id: case for case in found}


def history(db: Database, case_id: int) -> list[dict]:
    return [{**r, "detail": json.loads(r["detail"])} for r in
            db.query("SELECT id, at, actor, action, detail FROM events WHERE case_id = ? ORDER BY id", [case_id])]


def seconds(db: Database, case: Case) -> int:
    """How many residents joined this request (附议)."""
    return db.execute("SELECT COUNT(*) FROM events WHERE case_id = ? AND action = 'seconded'", [case.id]).fetchone()[0]
