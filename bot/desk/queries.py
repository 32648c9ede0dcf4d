"""What the desk reads: case lists by filter, a case's timeline with what the group saw, the
service's status and the weekly figures behind the charts. Plain functions of a database, run on a reader thread.

Every number on the town page is the length of the list its link opens: both come from `matches`."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from typing import Iterable, Mapping

from sqlite_utils import Database

from bot import cases, ledger
from bot.cases import DONE, KIND_NAMES, REQUEST_KINDS, STATUS_NAMES, Case
from bot.casework import pressing
from bot.clock import TZ
from bot.config import Config, Village
from bot.outbox import content_of
from bot.workdays import WorkCalendar

LIST_LIMIT = 300
FLAGS = ("overdue", "due_soon", "unanswered", "unsatisfied", "satisfied", "rated")
FLAG_NAMES = {"overdue": "超期", "due_soon": "将到期", "unanswered": "未回应", "unsatisfied": "不满意",
              "satisfied": "满意", "rated": "已评价"}
STATUS_CHOICES = {"active": "未办结", "done": "已办结", **STATUS_NAMES}


class BadFilter(ValueError):
    """A filter value the desk does not know (answered 400)."""


@dataclass(frozen=True)
class Filter:
    town: str = ""
    village: str = ""
    kind: str = ""
    status: str = ""
    holder: str = ""
    since: date | None = None
    until: date | None = None
    received_hours: int = 0      # received in the last N hours (the digest's 收)
    answered_hours: int = 0      # answered in the last N hours (答, 满意)
    overdue: bool = False
    due_soon: bool = False
    unanswered: bool = False
    unsatisfied: bool = False
    satisfied: bool = False
    rated: bool = False

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> "Filter":
        values: dict = {}
        for f in fields(cls):
            raw = query.get(f.name, "").strip()
            if not raw:
                continue
            if len(raw) > 64:
                raise BadFilter(f.name)
            if f.name in FLAGS:
                values[f.name] = raw in ("1", "on", "true")
            elif f.name in ("since", "until"):
                try:
                    values[f.name] = date.fromisoformat(raw)
                except ValueError:
                    raise BadFilter(f.name) from None
            elif f.name.endswith("_hours"):
                if not raw.isdigit() or not 0 < int(raw) <= 24 * 366:
                    raise BadFilter(f.name)
                values[f.name] = int(raw)
            else:
                values[f.name] = raw
        if values.get("kind", "") not in ("", *REQUEST_KINDS):
            raise BadFilter("kind")
        if values.get("status", "") not in ("", *STATUS_CHOICES):
            raise BadFilter("status")
        return cls(**values)

    def query(self, **changes) -> str:
        """This filter (with changes) as a query string, for links."""
        from urllib.parse import urlencode
        f = replace(self, **changes)
        pairs = []
        for field in fields(f):
            value = getattr(f, field.name)
            if value in ("", None, 0, False):
                continue
            pairs.append((field.name, "1" if value is True else str(value)))
        return urlencode(pairs)


def matches(c: Case, f: Filter, now: datetime, calendar: WorkCalendar, unanswered_hours: int) -> bool:
    """Whether a case is on the list a filter names; the digest's counts use the same definitions."""
    if (f.town and c.town != f.town) or (f.village and c.village != f.village) or (f.kind and c.kind != f.kind):
        return False
    if f.status == "active" and not c.active or f.status == "done" and c.status not in DONE:
        return False
    if f.status and f.status not in ("active", "done") and c.status != f.status:
        return False
    if f.holder and c.assignee != f.holder:
        return False
    day = c.received_at.astimezone(TZ).date()
    if (f.since and day < f.since) or (f.until and day > f.until):
        return False
    if f.received_hours and not (now - timedelta(hours=f.received_hours) <= c.received_at < now
                                 and c.kind in REQUEST_KINDS and c.status != "dismissed"):
        return False
    if f.answered_hours and not (c.status in DONE and c.answered_at
                                 and c.answered_at >= now - timedelta(hours=f.answered_hours)):
        return False
    if f.overdue or f.due_soon:
        p = pressing(c, calendar, now) if c.active else None
        if p is None or (f.overdue and not p.overdue_days) or (f.due_soon and p.overdue_days):
            return False
    if f.unanswered and not (c.active and c.first_response_at is None
                             and c.received_at <= now - timedelta(hours=unanswered_hours)):
        return False
    return not ((f.unsatisfied and c.rating != "不满意") or (f.satisfied and c.rating != "满意")
                or (f.rated and c.rating is None))


def requests(db: Database, villages: Iterable[str]) -> list[Case]:
    """The requests (never clues) of the given villages, newest first."""
    wanted = set(villages)
    # One village (a cadre's usual view) by its index; several are filtered from one pass.
    only = next(iter(wanted)) if len(wanted) == 1 else None
    found = [c for c in cases.find(db, village=only, confidential=False, stream=True) if c.village in wanted]
    return found[::-1]


def case_list(db: Database, villages: Iterable[str], f: Filter, now: datetime, calendar: WorkCalendar,
              unanswered_hours: int) -> list[Case]:
    return [c for c in requests(db, villages) if matches(c, f, now, calendar, unanswered_hours)]


# The town page: per village, the digest's numbers, each the length of the list its filter opens.
COLUMNS = (("收到(24小时)", {"received_hours": 24}), ("答复(24小时)", {"answered_hours": 24}),
           ("在办", {"status": "active"}), ("将到期", {"due_soon": True}), ("超期", {"overdue": True}),
           ("未回应", {"unanswered": True}), ("满意(7天)", {"answered_hours": 168, "satisfied": True}),
           ("评价(7天)", {"answered_hours": 168, "rated": True}), ("不满意", {"unsatisfied": True}))


@dataclass(frozen=True)
class Cell:
    label: str
    count: int
    link: str


def overview(db: Database, villages: list[Village], now: datetime, calendar: WorkCalendar,
             unanswered_hours: int) -> tuple[list[tuple[str, list[Cell]]], list[Cell]]:
    """Rows (village, cells) and the totals; every cell links to its list."""
    all_cases = requests(db, [v.name for v in villages])
    rows = []
    totals = [0] * len(COLUMNS)
    for village in villages:
        cells = []
        mine = [c for c in all_cases if c.village == village.name]
        for i, (label, changes) in enumerate(COLUMNS):
            f = Filter(village=village.name, **changes)
            n = sum(matches(c, f, now, calendar, unanswered_hours) for c in mine)
            totals[i] += n
            cells.append(Cell(label, n, f.query()))
        rows.append((village.name, cells))
    town = villages[0].town if villages else ""
    return rows, [Cell(label, totals[i], Filter(town=town, **changes).query())
                  for i, (label, changes) in enumerate(COLUMNS)]


# --- one case --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GroupPost:
    at: str
    status: str
    text: str
    how: str


def group_posts(db: Database, config: Config, case: Case) -> list[GroupPost]:
    """What the village's group was told about a case, as residents saw it: the robot's, the AI bot's and the
    gateway's posts that name its number, and the drafts cadres were asked to paste into a customer group."""
    village = config.village_by_name(case.village)
    if village is None or case.confidential:
        return []
    number = re.compile(rf"(?<![0-9A-Za-z]){re.escape(case.number)}(?![0-9])")
    rows = db.execute(
        "SELECT kind, target, payload, created_at, sent_at, status FROM outbox WHERE payload LIKE ? AND ("
        "(kind = 'robot' AND target = ?) OR (kind = 'bridge' AND target = ?) OR (kind = 'app' AND payload LIKE ?) "
        "OR (kind = 'response' AND target IN (SELECT response_url FROM messages WHERE village = ? "
        "AND chattype = 'group' AND response_url IS NOT NULL))) ORDER BY id",
        [f"%{case.number}%", village.webhook_key or "\x00", village.chat_id, f"%【请发到{village.name}群】%",
         village.name]).fetchall()
    posts = []
    for kind, _target, payload, created_at, sent_at, status in rows:
        data = json.loads(payload)
        text = content_of(data) if "msgtype" in data else str(data.get("text", ""))
        if not number.search(text):
            continue
        how = {"robot": "群机器人", "response": "智能机器人回复", "bridge": "网关转发", "app": "请干部转发到群"}[kind]
        posts.append(GroupPost(sent_at or created_at, "已发出" if status == "sent" else "待发出", text, how))
    return posts


def timeline(db: Database, case_id: int) -> list[dict]:
    return cases.history(db, case_id)


def case_by_id(db: Database, case_id: int) -> Case | None:
    return cases.by_ids(db, [case_id]).get(case_id)


# --- the service ----------------------------------------------------------------------------------------

def status(db: Database) -> dict:
    count = lambda sql: dict(db.execute(sql).fetchall())   # noqa: E731
    return {
        "messages": count("SELECT status, COUNT(*) FROM messages GROUP BY status"),
        "outbox": count("SELECT status, COUNT(*) FROM outbox GROUP BY status"),
        "jobs": db.execute("SELECT job, MAX(ran_at) FROM job_runs GROUP BY job ORDER BY job").fetchall(),
        "alerts": db.execute("SELECT key, created_at FROM alerts ORDER BY rowid DESC LIMIT 20").fetchall(),
        "chain": ledger.head(db),
    }


# --- the charts' figures --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Weekly:
    weeks: list[date]                          # each week's Monday, oldest first
    by_kind: dict[str, list[int]]              # kind -> requests received per week
    by_village: dict[str, list[int]]           # village -> requests received per week
    on_time: list[float | None]                # share answered by the deadline, of those answered that week
    satisfied: list[float | None]              # share 满意 of those rated, by week answered


def weekly(db: Database, villages: list[str], now: datetime, weeks: int = 8) -> Weekly:
    today = now.astimezone(TZ).date()
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    mondays = [first + timedelta(days=7 * i) for i in range(weeks)]
    index = lambda moment: (moment.astimezone(TZ).date() - first).days // 7   # noqa: E731
    by_kind = {k: [0] * weeks for k in REQUEST_KINDS}
    by_village = {v: [0] * weeks for v in villages}
    answered, on_time, rated, happy = ([0] * weeks for _ in range(4))
    since = datetime.combine(first, datetime.min.time(), TZ) - timedelta(days=90)
    wanted = set(villages)
    for c in cases.find(db, confidential=False, since=since, stream=True):
        if c.village not in wanted or c.kind not in REQUEST_KINDS or c.status == "dismissed":
            continue
        if 0 <= (w := index(c.received_at)) < weeks:
            by_kind[c.kind][w] += 1
            by_village[c.village][w] += 1
        if c.answered_at and 0 <= (w := index(c.answered_at)) < weeks:
            answered[w] += 1
            on_time[w] += c.answered_at <= c.due_at
            rated[w] += c.rating is not None
            happy[w] += c.rating == "满意"
    share = lambda part, whole: [p / n if n else None for p, n in zip(part, whole)]   # noqa: E731
    return Weekly(mondays, by_kind, by_village, share(on_time, answered), share(happy, rated))


KIND_LABELS = {k: KIND_NAMES[k] for k in REQUEST_KINDS}

