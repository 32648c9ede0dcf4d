"""The digest's customer-group lines: 亮明身份 gaps, activity where the chat archive hears nothing (WeCom's
statistics count per owner, so they speak for a village only when its owner owns that one group), and group
sends the owner did not confirm. Also sets the zombie flag of customer villages from what hears them: the archive
(with or without a bridge for the others), else the statistics; a village nothing measures is never a zombie."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from sqlite_utils import Database

from bot.config import Config, Town, Village
from schedules.customer_stats import DAYS
from schedules.digest_stats import TownStats

MAX_LISTED = 10   # per line: the private copy (2048 bytes) must keep room for the villages
SEVERAL = "群主名下多个群，无法按村统计"


@dataclass(frozen=True)
class Activity:
    village: str
    measured: bool          # False: the owner has several groups, WeCom's count is not this village's
    messages: int = 0       # yesterday
    speakers: int = 0       # yesterday's members who said something
    silent: bool = False    # no message on any of the last DAYS days (all of them counted)


def gather_all(db: Database, config: Config, at: datetime, stats: dict[str, TownStats]) -> dict[str, list[str]]:
    """Each town's customer-group lines; also sets each customer village's `silent` from what hears it."""
    lines = {}
    for town in config.towns:
        activity = activities(db, config, town, at)
        by_name = {v.name: v for v in stats[town.name].villages} if town.name in stats else {}
        heard = archive_heard(db, town, at) if config.archive.library else set()
        for village in customer_villages(town):
            if village.name not in by_name:
                continue
            if config.archive.library:     # the archive hears every message, pictures and voice included
                by_name[village.name].silent = village.name not in heard
            else:
                a = activity.get(village.name)
                by_name[village.name].silent = bool(a and a.silent)   # unmeasured is not a zombie
        lines[town.name] = (identity_lines(db, town, at) + activity_lines(activity.values())
                            + unconfirmed_lines(db, town, at))
    return lines


def customer_villages(town: Town) -> list[Village]:
    return [v for v in town.villages if v.group == "customer"]


def archive_heard(db: Database, town: Town, at: datetime) -> set[str]:
    """Customer villages the archive heard anything from in the last DAYS days: a text (stored as a message) or
    a picture, voice, file (counted only), whether or not a bridge feeds the other villages."""
    names = [v.name for v in customer_villages(town)]
    if not names:
        return set()
    marks = ", ".join("?" * len(names))
    since = at - timedelta(days=DAYS)
    texts = db.execute(f"SELECT DISTINCT village FROM messages WHERE village IN ({marks}) AND received_at >= ? "
                       "AND received_at < ?", [*names, since.isoformat(), at.isoformat()])
    media = db.execute(f"SELECT DISTINCT village FROM archive_activity WHERE village IN ({marks}) AND day >= ? "
                       "AND day < ?", [*names, since.date().isoformat(), at.date().isoformat()])
    return {r[0] for r in texts} | {r[0] for r in media}


def identity_lines(db: Database, town: Town, at: datetime) -> list[str]:
    gaps = []
    for village in customer_villages(town):
        row = db.execute("SELECT cadres, shown, owner_ok FROM identity_checks WHERE village = ? AND checked_at <= ? "
                         "ORDER BY checked_at DESC, id DESC LIMIT 1", [village.name, at.isoformat()]).fetchone()
        if row and (row[1] < row[0] or not row[2]):
            gaps.append(f"{village.name} {row[1]}/{row[0]}" + ("（群主不符）" if not row[2] else ""))
    return [f"**亮明身份**：{_listed(gaps)}"] if gaps else []


def activities(db: Database, config: Config, town: Town, at: datetime) -> dict[str, Activity]:
    """Villages heard by no archive: yesterday's count of their owner, where the owner has this one group."""
    if config.archive.library:
        return {}
    owned = Counter(v.group_owner for v in config.villages() if v.group == "customer")
    yesterday = (at - timedelta(days=1)).date()
    found = {}
    for village in customer_villages(town):
        rows = {r[0]: r[1:] for r in db.execute(
            "SELECT day, chat_total, msg_total, member_has_msg FROM customer_group_stats WHERE owner = ? "
            "AND day >= ? AND day <= ?", [village.group_owner, (yesterday - timedelta(days=DAYS - 1)).isoformat(),
                                          yesterday.isoformat()])}
        last = rows.get(yesterday.isoformat())
        if owned[village.group_owner] > 1 or any(r[0] > 1 for r in rows.values()):
            found[village.name] = Activity(village.name, measured=False)
            continue
        if last is None or not last[0]:
            continue   # not fetched, or WeCom counted no group of this owner: say nothing rather than guess
        counted = [r for r in rows.values() if r[0]]
        found[village.name] = Activity(village.name, True, messages=last[1], speakers=last[2],
                                       silent=len(counted) == DAYS and not any(r[1] for r in counted))
    return found


def activity_lines(activity: Iterable[Activity]) -> list[str]:
    activity = list(activity)
    # The quietest first: those are the groups an inspector looks at.
    measured = [f"{a.village} {a.messages}/{a.speakers}"
                for a in sorted((a for a in activity if a.measured), key=lambda a: (a.messages, a.speakers))]
    several = [a.village for a in activity if not a.measured]
    return (([f"**客户群昨日活跃**（企业微信统计，消息条数/发言人数）：{_listed(measured)}"] if measured else [])
            + ([f"**{SEVERAL}**：{_listed(several)}"] if several else []))


def unconfirmed_lines(db: Database, town: Town, at: datetime) -> list[str]:
    """Yesterday's group sends not confirmed (and today's, once the check has reminded the owner)."""
    villages = {v.name: v for v in customer_villages(town)}
    if not villages:
        return []
    today, yesterday = at.date().isoformat(), (at - timedelta(days=1)).date().isoformat()
    rows = db.execute(
        f"SELECT village, day FROM group_sends WHERE village IN ({', '.join('?' * len(villages))}) AND "
        "((day = ? AND status != 'sent') OR (day = ? AND status = 'reminded')) ORDER BY day, village",
        [*villages, yesterday, today]).fetchall()
    shown: dict[str, list[str]] = {yesterday: [], today: []}
    for name, day in rows:
        village = villages[name]
        owner = village.cadre(village.group_owner)
        shown[day].append(f"{name}（群主{owner.name if owner else village.group_owner}）")
    return [f"**{label}群发未确认**：{_listed(shown[day])}"
            for label, day in (("昨日", yesterday), ("今日", today)) if shown[day]]


def _listed(items: list[str], sep: str = "、") -> str:
    more = f"等 {len(items)} 个" if len(items) > MAX_LISTED else ""
    return sep.join(items[:MAX_LISTED]) + more
