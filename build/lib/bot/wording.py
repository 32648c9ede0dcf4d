"""Short Chinese phrases shared by every message the bot writes: dates, kinds, people."""
from __future__ import annotations

from datetime import date, datetime

WEEKDAYS = "一二三四五六日"


def day(value: date | datetime) -> str:
    """'12月4日（周五）' — how a deadline is read at a glance on a phone."""
    return f"{value.month}月{value.day}日（周{WEEKDAYS[value.weekday()]}）"


def moment(value: datetime) -> str:
    return f"{value.month}月{value.day}日 {value:%H:%M}"


def snippet(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
