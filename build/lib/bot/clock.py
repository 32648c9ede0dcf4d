"""Time for the whole bot: one injectable clock, always aware and in Asia/Shanghai."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


def local(when: datetime | str) -> datetime:
    """Aware Asia/Shanghai time; a naive value is read as Shanghai time (how cadres and files write it)."""
    if isinstance(when, str):
        when = datetime.fromisoformat(when.strip())
    return when.replace(tzinfo=TZ) if when.tzinfo is None else when.astimezone(TZ)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(TZ)


class FixedClock:
    """Always the same moment: `run-job --at` runs a job as of then, whatever the wall clock says."""

    def __init__(self, at: datetime | str):
        self._at = local(at)

    def now(self) -> datetime:
        return self._at


class ManualClock(FixedClock):
    """A clock the demo and the tests move by hand; nothing ever sleeps."""

    def advance(self, **delta: float) -> datetime:
        self._at += timedelta(**delta)
        return self._at

    def set(self, when: datetime | str) -> datetime:
        self._at = local(when)
        return self._at
