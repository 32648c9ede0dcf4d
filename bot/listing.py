"""`xiaowei cases`: cases as a table for an operator, or JSON for other tools. Clues (reports) are never listed."""
from __future__ import annotations

import json
from datetime import datetime

from sqlite_utils import Database

from bot import cases, wording

STATUSES = {"open": ("unconfirmed", "open"), "overdue": ("unconfirmed", "open"), "done": ("answered", "closed")}


def select(db: Database, now: datetime, village: str | None, status: str | None) -> list[cases.Case]:
    found = cases.find(db, village=village, statuses=STATUSES.get(status, ()))
    return [c for c in found if c.overdue(now)] if status == "overdue" else found


def cases_main(db: Database, now: datetime, out, *, village: str | None, status: str | None, as_json: bool) -> int:
    found = select(db, now, village, status)
    if as_json:
        for c in found:
            print(json.dumps({"number": c.number, "village": c.village, "kind": c.kind, "status": c.status,
                              "level": c.level, "received_at": c.received_at.isoformat(),
                              "due_at": c.due_at.isoformat(), "overdue": c.overdue(now), "text": c.text},
                             ensure_ascii=False), file=out)
        return 0
    if not found:
        print("没有符合条件的诉求。", file=out)
        return 0
    for c in found:
        late = "【超期】" if c.overdue(now) else ""
        print(f"{c.number:>6}  {c.village}  {c.kind_name}  {cases.STATUS_NAMES[c.status]}{late}  "
              f"{cases.LEVEL_NAMES[c.level]}  期限{wording.day(c.due_at)}  {wording.snippet(c.text, 30)}", file=out)
    print(f"共 {len(found)} 件", file=out)
    return 0
