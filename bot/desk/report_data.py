"""What the desk's report pages read, on a reader thread: the clue ledger (bot/clue_ledger.py), the monthly
assessment (bot/assessment.py) and the trends (bot/trends.py), each cut to the towns or villages the asker may see
(the views decide which, with access.Scope)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from bot import clue_ledger, trends
from bot.assessment import Assessment, assess, month_bounds
from bot.config import Config, Village
from bot.workdays import WorkCalendar


def clue_entries(db: Database, config: Config, now: datetime, towns: list[str],
                 month: str | None = None) -> list[clue_ledger.ClueEntry]:
    """The ledger of the given towns, newest first, each clue with its stage, finding and history; one month's
    when `month` is given."""
    start, end = month_bounds(month) if month else (None, None)
    wanted = set(towns)
    found = clue_ledger.entries(db, config, now, town=towns[0] if len(towns) == 1 else None,
                                received_from=start, received_before=end)
    return [e for e in found if e.town in wanted][::-1]


def assessment(db: Database, config: Config, calendar: WorkCalendar, month: str, now: datetime,
               villages: list[Village]) -> Assessment:
    """The month's figures of the given villages and their cadres only."""
    towns = {v.town for v in villages}
    wanted = {v.name for v in villages}
    result = assess(db, config, calendar, month, now, town=next(iter(towns)) if len(towns) == 1 else None)
    return Assessment(result.month, [s for s in result.villages if s.village in wanted],
                      [s for s in result.cadres if s.village in wanted])


@dataclass(frozen=True)
class Trends:
    weeks: int
    topics: list[trends.Topic]
    week: list[tuple[str, trends.WeekOnWeek]]      # per village, in the configuration's order


def trend_figures(db: Database, now: datetime, villages: list[Village], weeks: int) -> Trends:
    """Recurring topics of the given villages' requests over the last `weeks` weeks, and each village's
    week-on-week change. Clues are never among them (bot/trends.py leaves them out)."""
    towns = {v.town for v in villages}
    town = next(iter(towns)) if len(towns) == 1 else None
    names = [v.name for v in villages]
    topics = trends.recurring_topics(db, now - timedelta(weeks=weeks), now, town=town, villages=names)
    change = trends.week_on_week(db, now, town=town)
    empty = trends.WeekOnWeek(Counter(), Counter())
    return Trends(weeks, topics, [(name, change.get(name, empty)) for name in names])


def visits(db: Database, now: datetime, villages: list[Village], weeks: int) -> list[trends.Visit]:
    """The 入户走访 list of the given villages (residents' ids: for the inspectors and the county only)."""
    towns = {v.town for v in villages}
    wanted = {v.name for v in villages}
    found = trends.visit_list(db, now, now - timedelta(weeks=weeks), town=next(iter(towns)) if len(towns) == 1
                              else None)
    return [v for v in found if v.village in wanted]
