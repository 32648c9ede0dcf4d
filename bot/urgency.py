"""What cannot wait for office hours: a request about safety, health, fire or flood reaches the cadres at once;
any other private alert to a cadre waits for the next working hour ([rules] work_start..work_end on a working
day), so that nobody is woken at midnight for a street lamp."""
from __future__ import annotations

import re
from datetime import datetime

from bot.config import Rules
from bot.workdays import WorkCalendar

URGENT = re.compile(
    r"火|冒烟|烧起来|爆炸|煤气|燃气|液化气|泄漏|中毒|触电|漏电|电线掉|电线断|高压线|"
    r"洪|淹|涝|进水|涨水|决堤|溃|塌|滑坡|泥石流|山体|落石|危房|要倒|裂缝|"
    r"晕倒|昏迷|不省人事|急救|救护车|抢救|病危|流血|受伤|摔伤|骨折|呼吸|心脏|中风|溺水|落水|"
    r"走丢|失踪|找不到人|不见了|打架|砍人|持刀|报警|救命|危险|紧急|急急|马上来")


def is_urgent(text: str) -> bool:
    return bool(URGENT.search(text or ""))


def alert_time(text: str, now: datetime, calendar: WorkCalendar, rules: Rules) -> datetime:
    """When a cadre's private alert about this matter may go: now if urgent, else the next working moment."""
    if is_urgent(text):
        return now
    return calendar.working_moment(now, rules.work_start, rules.work_end)
