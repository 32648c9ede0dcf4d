"""Who is on duty (值班) in a village on a day: explicit roster days first, then the village's rotation."""
from __future__ import annotations

from datetime import date

from sqlite_utils import Database

from bot.config import Cadre, Village


def on_duty(db: Database, village: Village, day: date) -> list[Cadre]:
    userids = [r[0] for r in db.execute(
        "SELECT userid FROM duty_roster WHERE village = ? AND day = ? ORDER BY id", [village.name, day.isoformat()])]
    if not userids:
        rotation = db.execute("SELECT start_day, userid FROM duty_rotation WHERE village = ? ORDER BY position",
                              [village.name]).fetchall()
        if rotation and day >= date.fromisoformat(rotation[0][0]):
            userids = [rotation[(day - date.fromisoformat(rotation[0][0])).days % len(rotation)][1]]
    cadres = [village.cadre(u) for u in userids]
    return [c for c in cadres if c is not None]


def responsible(db: Database, village: Village, day: date) -> list[Cadre]:
    """The duty cadre(s), or the party secretary when nobody is on the roster: someone always gets told."""
    return on_duty(db, village, day) or [village.secretary]
