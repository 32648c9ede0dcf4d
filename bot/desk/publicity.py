"""What the desk's 村务公开 pages read: per village every power-list item with its recent periods (what fell due and
whether it was published on time), every 公示 with all its versions and the disclosure cases linked to it; per town
each village's 公开及时率. Plain functions of a database, run on a reader thread.

The periods and the rate come from bot/publicity_due.py, as the reminders and the digest count them, so the desk
and the morning digest never disagree. 公示 are public by nature; the linked cases are ordinary disclosure cases,
and a clue is never shown here even if one were linked."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlite_utils import Database

from bot import cases
from bot.cases import Case
from bot.config import Config, Village
from bot.power_list import CYCLES, PowerItem, period_of
from bot.publicity_due import Obligation, Timeliness, obligations, preparers, timeliness
from bot.workdays import WorkCalendar

PERIOD_STATES = {"on_time": "按时公开", "published_late": "逾期公开", "due": "待公开", "late": "逾期未公开"}
LINK_NAMES = {"objection": "异议", "complaint": "公示期后反映", "missing": "反映未公开"}


@dataclass(frozen=True)
class PeriodState:
    obligation: Obligation
    state: str                 # a key of PERIOD_STATES

    @property
    def name(self) -> str:
        return PERIOD_STATES[self.state]


def period_state(o: Obligation, day: date) -> PeriodState:
    if o.published_on is not None:
        return PeriodState(o, "on_time" if o.on_time else "published_late")
    return PeriodState(o, "due" if day <= o.due else "late")


@dataclass(frozen=True)
class ItemRow:
    item: PowerItem
    prepared_by: list[str]         # the cadres who prepare it
    stand_in: bool                 # nobody holds the item's post: the party secretary prepares it
    periods: list[PeriodState]     # newest first; none for a per-event item
    missing: list[Case]            # residents' complaints that it was not published

    @property
    def cycle_name(self) -> str:
        return CYCLES[self.item.cycle]


@dataclass(frozen=True)
class Version:
    version: int
    action: str                    # posted | corrected | withdrawn
    title: str
    body: str
    posted_on: date
    ends_on: date
    actor: str
    at: datetime
    note: str


@dataclass(frozen=True)
class NoticeRow:
    number: int
    item: str
    period: str                    # the period it counts for, in words; '' for a per-event item
    versions: list[Version]        # newest first: versions[0] is what it says now
    linked: dict[str, list[Case]]  # kind of link (objection, complaint) → the cases

    @property
    def now(self) -> Version:
        return self.versions[0]

    def state(self, day: date) -> str:
        if self.now.action == "withdrawn":
            return "已撤回"
        if day < self.now.posted_on:
            return "待群发"         # a customer group sees it after the owner confirms the next group send
        return "公示中" if day <= self.now.ends_on else "公示期满"


@dataclass(frozen=True)
class VillagePage:
    village: Village
    timeliness: Timeliness
    items: list[ItemRow]
    notices: list[NoticeRow]       # newest number first


def period_label(item: PowerItem | None, key: str) -> str:
    """The words for a stored period key (2026-11, 2026-Q4, 2026-H2, 2026); the key itself if it does not parse."""
    if not key or item is None or not item.scheduled:
        return key
    year, _, part = key.partition("-")
    try:
        if item.cycle == "monthly":
            month = int(part)
        elif item.cycle == "quarterly":
            month = (int(part.removeprefix("Q")) - 1) * 3 + 1
        else:
            month = 7 if part == "H2" else 1
        return period_of(item.cycle, date(int(year), month, 1)).label
    except ValueError:
        return key


def _linked(db: Database, villages: list[str]) -> list[tuple[dict, Case]]:
    marks = ", ".join("?" * len(villages))
    links = db.execute(f"SELECT case_id, village, item, number, kind FROM publicity_links WHERE village IN ({marks}) "
                       "ORDER BY case_id", villages).fetchall()
    found = cases.by_ids(db, [row[0] for row in links])
    keys = ("case_id", "village", "item", "number", "kind")
    return [(dict(zip(keys, row)), found[row[0]]) for row in links
            if row[0] in found and not found[row[0]].confidential]


def _notices(db: Database, config: Config, villages: list[str],
             linked: list[tuple[dict, Case]]) -> dict[str, list[NoticeRow]]:
    marks = ", ".join("?" * len(villages))
    versions: dict[int, list[dict]] = defaultdict(list)
    for row in db.query(f"SELECT * FROM publicity WHERE village IN ({marks}) ORDER BY number, version", villages):
        versions[row["number"]].append(row)
    by_number: dict[int, dict[str, list[Case]]] = defaultdict(lambda: defaultdict(list))
    for link, case in linked:
        if link["number"] is not None:
            by_number[link["number"]][link["kind"]].append(case)
    found: dict[str, list[NoticeRow]] = {v: [] for v in villages}
    for number in sorted(versions, reverse=True):
        rows = versions[number]
        first = rows[0]
        found[first["village"]].append(NoticeRow(
            number=number, item=first["item"],
            period=period_label(config.power_list.find(first["item"]), rows[-1]["period"]),
            versions=[_version(r) for r in reversed(rows)], linked=dict(by_number[number])))
    return found


def _version(row: dict) -> Version:
    return Version(version=row["version"], action=row["action"], title=row["title"], body=row["body"],
                   posted_on=date.fromisoformat(row["posted_on"]), ends_on=date.fromisoformat(row["ends_on"]),
                   actor=row["actor"], at=datetime.fromisoformat(row["at"]), note=row["note"])


def village_page(db: Database, config: Config, calendar: WorkCalendar, village: Village, day: date) -> VillagePage:
    owed = obligations(db, config.power_list, calendar, [village.name], day)[village.name]
    linked = _linked(db, [village.name])
    items = []
    for item in config.power_list.items:
        mine = [period_state(o, day) for o in reversed(owed) if o.item.name == item.name]
        missing = [case for link, case in linked if link["kind"] == "missing" and link["item"] == item.name]
        held = any(item.preparer and item.preparer in c.post for c in village.cadres)
        items.append(ItemRow(item, [p.display for p in preparers(village, item.preparer)], not held, mine, missing))
    return VillagePage(village, timeliness(owed, day, village.name), items,
                       _notices(db, config, [village.name], linked)[village.name])


@dataclass(frozen=True)
class VillageSummary:
    village: str
    timeliness: Timeliness
    showing: int                   # 公示 open to objection today
    objections: int                # objections to the village's 公示, all time


def town_summary(db: Database, config: Config, calendar: WorkCalendar, villages: list[Village],
                 day: date) -> list[VillageSummary]:
    """Each village's 公开及时率 and its 公示 on show: one pass for the whole town."""
    names = [v.name for v in villages]
    if not names:
        return []
    owed = obligations(db, config.power_list, calendar, names, day)
    linked = _linked(db, names)
    notices = _notices(db, config, names, linked)
    return [VillageSummary(name, timeliness(owed[name], day, name),
                           sum(n.state(day) == "公示中" for n in notices[name]),
                           sum(len(n.linked.get("objection", ())) for n in notices[name])) for name in names]
