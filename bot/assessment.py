"""Assessment (考核): per village and per cadre, for one month — requests received, the median first response,
the on-time rate (按期办结率), passing up within 1 working day, the satisfaction rate (满意率), reopened requests
and nags received. Every measure is over the requests received in the month (as they stand now), except the
nags, which count by the day they were sent. Clues are never counted: they are not the village's work."""
from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlite_utils import Database

from bot import cases, duty
from bot.cases import DONE, REQUEST_KINDS, Case
from bot.clock import TZ
from bot.config import Config, Village
from bot.workdays import WorkCalendar


def month_bounds(month: str | date) -> tuple[datetime, datetime]:
    """"2026-12" (or any day of it) → the month's first moment and the next month's, local time."""
    first = date.fromisoformat(f"{month}-01") if isinstance(month, str) else month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return datetime.combine(first, time(), TZ), datetime.combine(following, time(), TZ)


def month_label(month: str | date) -> str:
    start, _ = month_bounds(month)
    return f"{start:%Y-%m}"


@dataclass
class Score:
    """One row of the assessment: a village (cadre None) or one of its cadres."""
    month: str
    town: str
    village: str
    cadre: str | None = None          # post and name
    userid: str | None = None
    received: int = 0
    waits: list[timedelta] = field(default_factory=list)
    decided: int = 0                  # answered, or past their deadline: what the on-time rate is over
    on_time: int = 0
    passed_up: int = 0
    passed_up_in_time: int = 0
    rated: int = 0
    satisfied: int = 0
    reopened: int = 0
    nags: int = 0

    @property
    def first_response(self) -> timedelta | None:
        return statistics.median(self.waits) if self.waits else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.decided if self.decided else None

    @property
    def passed_up_rate(self) -> float | None:
        return self.passed_up_in_time / self.passed_up if self.passed_up else None

    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None


@dataclass(frozen=True)
class Assessment:
    month: str
    villages: list[Score]
    cadres: list[Score]


def assess(db: Database, config: Config, calendar: WorkCalendar, month: str | date, now: datetime, *,
           town: str | None = None) -> Assessment:
    start, end = month_bounds(month)
    label = f"{start:%Y-%m}"
    towns = [t for t in config.towns if town in (None, t.name)]
    villages = {v.name: Score(label, t.name, v.name) for t in towns for v in t.villages}
    cadres = {(v.name, c.userid): Score(label, t.name, v.name, c.display, c.userid)
              for t in towns for v in t.villages for c in v.cadres}
    month_cases = [c for c in cases.find(db, since=start) if c.received_at < end and c.village in villages
                   and c.kind in REQUEST_KINDS and c.status != "dismissed"]
    events = _events(db, [c.id for c in month_cases])
    close = config.rules.close_time
    for case in month_cases:
        village = config.village_by_name(case.village)
        handler = _handler(db, village, case, events[case.id])
        rows = [villages[case.village]] + ([cadres[(case.village, handler)]] if handler else [])
        for score in rows:
            _count(score, case, events[case.id], calendar, close, now)
    for case_id, userids, village in _nags(db, start, end):
        if village in villages:
            villages[village].nags += 1
            for userid in userids:
                if (village, userid) in cadres:
                    cadres[(village, userid)].nags += 1
    return Assessment(label, list(villages.values()), list(cadres.values()))


def _count(score: Score, case: Case, events: list[dict], calendar: WorkCalendar, close: time,
           now: datetime) -> None:
    score.received += 1
    if case.first_response_at:
        score.waits.append(case.first_response_at - case.received_at)
    if case.status in DONE and case.answered_at:
        score.decided += 1
        score.on_time += case.answered_at <= case.due_at
    elif case.active and now > case.due_at:
        score.decided += 1
    escalated = next((e for e in events if e["action"] == "escalated"), None)
    if escalated:
        # The village must pass up within 1 working day of finding it beyond itself (or of receiving it).
        marked = next((e for e in events if e["action"] == "beyond_village"), None)
        begun = datetime.fromisoformat(marked["at"]) if marked else case.received_at
        score.passed_up += 1
        score.passed_up_in_time += datetime.fromisoformat(escalated["at"]) <= calendar.due_at("escalation", begun,
                                                                                             close)
    if case.rating:
        score.rated += 1
        score.satisfied += case.rating == "满意"
    score.reopened += any(e["action"] == "reopened" for e in events)


def _handler(db: Database, village: Village | None, case: Case, events: list[dict]) -> str | None:
    """The cadre a request counts for: who claimed it, else who answered or first replied to it, else the duty
    cadre of the day it arrived."""
    if village is None:
        return None
    if case.assignee and village.cadre(case.assignee):
        return case.assignee
    for action in ("answered", "responded", "progress"):
        actor = next((e["actor"] for e in events if e["action"] == action and village.cadre(e["actor"])), None)
        if actor:
            return actor
    on_duty = duty.responsible(db, village, case.received_at.date())
    return on_duty[0].userid if on_duty and village.cadre(on_duty[0].userid) else None


def _events(db: Database, ids: list[int]) -> dict[int, list[dict]]:
    found: dict[int, list[dict]] = defaultdict(list)
    for row in db.query("SELECT case_id, at, actor, action FROM events WHERE case_id IN "
                        "(SELECT value FROM json_each(?)) ORDER BY id", [json.dumps(ids)]):
        found[row["case_id"]].append(row)
    return found


def _nags(db: Database, start: datetime, end: datetime):
    for row in db.query("SELECT n.case_id, n.userids, c.village FROM nags n JOIN cases c ON c.id = n.case_id "
                        "JOIN case_state s ON s.case_id = c.id WHERE n.day >= ? AND n.day < ? AND s.kind != 'report'",
                        [start.date().isoformat(), end.date().isoformat()]):
        yield row["case_id"], json.loads(row["userids"]), row["village"]


def first_workday_of_month(calendar: WorkCalendar, day: date) -> bool:
    """Whether `day` is the month's first working day (after New Year's Day or National Day, a later one)."""
    if not calendar.is_workday(day):
        return False
    return not any(calendar.is_workday(day.replace(day=d)) for d in range(1, day.day))


def previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)
