"""What each village owes the group under the power list, and how it kept time (公开及时率).

An obligation is one scheduled item for one period (bot/power_list.py says when it is due). It is published once
a 公示 of that item names that period and has not been withdrawn; on time when the first version was posted by
the due date. Obligations are looked at over LOOKBACK days of due dates (and never before the list's `start`),
so a village is not judged on periods from before the bot ran."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlite_utils import Database

from bot.config import Person, Village
from bot.power_list import Period, PowerItem, PowerList, last_ended
from bot.workdays import WorkCalendar

LOOKBACK = timedelta(days=90)
REMIND = 3          # working days before the due date (the due date included) when the preparer is reminded


@dataclass(frozen=True)
class Obligation:
    village: str
    item: PowerItem
    period: Period
    due: date
    published_on: date | None
    number: int | None

    @property
    def on_time(self) -> bool:
        return self.published_on is not None and self.published_on <= self.due

    def overdue_days(self, calendar: WorkCalendar, day: date) -> int:
        """Working days past the due date while still unpublished; 0 otherwise."""
        if self.published_on is not None or day <= self.due:
            return 0
        return max(1, calendar.workdays_between(self.due, day))

    def reminding(self, calendar: WorkCalendar, day: date) -> bool:
        return self.published_on is None and day <= self.due and calendar.workdays_between(day, self.due) < REMIND

    def label(self) -> str:
        return f"{self.item.name}（{self.period.label}）"


def preparers(village: Village, item_preparer: str) -> list[Person]:
    """The cadres whose post is the item's preparer; the party secretary when none is. The reminders go to them,
    and the desk names them."""
    found = [c for c in village.cadres if item_preparer and item_preparer in c.post]
    return found or ([village.secretary] if village.secretary else [])


def due_date(item: PowerItem, period: Period, calendar: WorkCalendar) -> date:
    return calendar.add_workdays(period.end, item.due_workdays)


def published(db: Database, villages: list[str]) -> dict[tuple[str, str, str], tuple[date, int]]:
    """(village, item, period) → (first posted day, number) of each 公示 not withdrawn, earliest first."""
    if not villages:
        return {}
    marks = ", ".join("?" * len(villages))
    rows = db.execute(
        f"SELECT p.village, p.item, p.period, MIN(f.posted_on), p.number FROM publicity p "
        f"JOIN publicity f ON f.number = p.number AND f.version = 1 "
        f"WHERE p.village IN ({marks}) AND p.period != '' AND p.action != 'withdrawn' "
        f"AND p.version = (SELECT MAX(q.version) FROM publicity q WHERE q.number = p.number) "
        f"GROUP BY p.village, p.item, p.period", villages).fetchall()
    return {(v, i, p): (date.fromisoformat(day), number) for v, i, p, day, number in rows}


def obligations(db: Database, power_list: PowerList, calendar: WorkCalendar, villages: list[str],
                day: date) -> dict[str, list[Obligation]]:
    """Every village's obligations whose due date falls in the look-back window or is still ahead, oldest first;
    one query for all the villages."""
    done = published(db, villages)
    since = day - LOOKBACK
    found: dict[str, list[Obligation]] = {v: [] for v in villages}
    for item in power_list.scheduled():
        periods = []
        period = last_ended(item.cycle, day)
        while True:
            due = due_date(item, period, calendar)
            if due < since or (power_list.start and period.end < power_list.start):
                break
            periods.append((period, due))
            period = period.before()
        for village in villages:
            for period, due in reversed(periods):
                on, number = done.get((village, item.name, period.key), (None, None))
                found[village].append(Obligation(village, item, period, due, on, number))
    for village in villages:
        found[village].sort(key=lambda o: (o.due, o.item.name))
    return found


@dataclass(frozen=True)
class Timeliness:
    village: str
    counted: int              # obligations due by now, or published already
    on_time: int
    late: list[Obligation]    # due, still not published

    @property
    def rate(self) -> float | None:
        return self.on_time / self.counted if self.counted else None


def timeliness(owed: list[Obligation], day: date, village: str) -> Timeliness:
    counted = [o for o in owed if o.due < day or o.published_on is not None]
    return Timeliness(village, len(counted), sum(o.on_time for o in counted),
                      [o for o in counted if o.published_on is None])
