"""Time for the whole bot: one injectable clock, always aware and in Asia/Shanghai."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(TZ)


class FakeClock:
    """A clock tests and the demo move by hand; never sleeps."""

    def __init__(self, start: datetime | str):
        if isinstance(start, str):
            start = datetime.fromisoformat(start)
        self._now = start.astimezone(TZ) if start.tzinfo else start.replace(tzinfo=TZ)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime | str) -> datetime:
        self._now = FakeClock(when).now()
        return self._now
