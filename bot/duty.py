"""Who is on duty (值班) in a village on a day: explicit roster days first, then the village's rotation."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Iterable

from sqlite_utils import Database

from bot.config import Cadre, Village


def on_duty(db: Database, village: Village, day: date) -> list[Cadre]:
    return on_duty_all(db, [village], day)[village.name]


def on_duty_all(db: Database, villages: Iterable[Village], day: date) -> dict[str, list[Cadre]]:
    """Today's duty cadres of every village given, keyed by village name: two queries however many villages
    (the morning jobs ask for the whole county at once)."""
    villages = list(villages)
    names = [v.name for v in villages]
    roster: dict[str, list[str]] = defaultdict(list)
    rotation: dict[str, list[tuple[str, str]]] = defaultdict(list)
    # The day's roster for all villages at once; rotations only for the villages not on it. Chunks of 500 keep
    # under SQLite's limit of bound parameters.
    for part in _chunks(names):
        marks = ", ".join("?" * len(part))
        for village, userid in db.execute(f"SELECT village, userid FROM duty_roster WHERE day = ? AND village IN "
                                          f"({marks}) ORDER BY id", [day.isoformat(), *part]):
            roster[village].append(userid)
    for part in _chunks([n for n in names if n not in roster]):
        marks = ", ".join("?" * len(part))
        for village, start, userid in db.execute(f"SELECT village, start_day, userid FROM duty_rotation WHERE "
                                                 f"village IN ({marks}) ORDER BY village, position", part):
            rotation[village].append((start, userid))
    found = {}
    for village in villages:
        userids = roster.get(village.name, [])
        turns = rotation.get(village.name)
        if not userids and turns and day >= date.fromisoformat(turns[0][0]):
            userids = [turns[(day - date.fromisoformat(turns[0][0])).days % len(turns)][1]]
        found[village.name] = [c for c in (village.cadre(u) for u in userids) if c is not None]
    return found


def _chunks(names: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(names), size):
        yield names[start:start + size]


def responsible(db: Database, village: Village, day: date) -> list[Cadre]:
    """The duty cadre(s), or the party secretary when nobody is on the roster: someone always gets told."""
    return on_duty(db, village, day) or [village.secretary]
