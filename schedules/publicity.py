"""公开提醒: what the power list says each village owes its group (bot/publicity_due.py). An item due within
REMIND working days and not yet published is reminded to whoever prepares it; once late it climbs the same ladder
as a case, a rung a working day: preparer → party secretary → link leader → township inspectors. Working days
only; at most one message per village, item, period, rung and day (publicity_nags), however often it runs."""
from __future__ import annotations

import json
from collections import defaultdict

from sqlite_utils import Database

from bot import ledger, wording
from bot.casework import LADDER, ladder_people
from bot.config import Person, Town, Village
from bot.context import JobContext
from bot.jobs import Job
from bot.outbound import Outgoing
from bot.publicity_due import Obligation, obligations, preparers

HEADS = {
    "reminder": "【公开提醒】{village}以下事项请按时在群里公示：",
    "duty": "【公开超期】{village}以下事项已超期未公开，请尽快公示：",
    "secretary": "【公开超期·请督促】{village}以下事项已超期未公开：",
    "leader": "【公开超期·挂包领导】{village}以下事项超期多日仍未公开：",
    "inspectors": "【公开超期·纪委】{village}以下事项超期多日仍未公开：",
}
HOW = "在群里@小微 发“公示 事项 标题”，换行写内容，即可公示。"
FEET = {
    "reminder": HOW,
    "duty": HOW,
    "secretary": "请督促经办干部尽快公示。",
    "leader": "请过问推动。",
    "inspectors": "请关注村务公开是否及时、完整。",
}


def rungs(overdue_days: int) -> list[str]:
    """As a village case (bot/casework.py rungs): the preparer every day, plus the rung the late days reached."""
    return list(dict.fromkeys(["duty", LADDER[min(max(overdue_days - 1, 0), 3)]])) if overdue_days else ["duty"]


async def run(ctx: JobContext) -> None:
    if not ctx.calendar.is_workday(ctx.day):
        return   # not marked as run: nothing is owed on a day off
    names = [v.name for v in ctx.config.villages()]
    owed = await ctx.read(obligations, ctx.config.power_list, ctx.calendar, names, ctx.day)
    await ctx.once_many([(v.name, lambda db, out, t=t, v=v: remind(db, out, ctx, t, v, owed[v.name]))
                         for t in ctx.config.towns for v in t.villages])


def remind(db: Database, out: Outgoing, ctx: JobContext, town: Town, village: Village,
           owed: list[Obligation]) -> None:
    notes: dict[tuple[str, str], list[str]] = defaultdict(list)
    late_for: set[tuple[str, str]] = set()     # a preparer with anything late reads the 超期 head, not the reminder
    for o in owed:
        late = o.overdue_days(ctx.calendar, ctx.day)
        if not late and not o.reminding(ctx.calendar, ctx.day):
            continue
        prepared_by = preparers(village, o.item.preparer)
        for rung in rungs(late):
            people = prepared_by if rung == "duty" else \
                [p for p in ladder_people(town, village, rung) if p.userid not in {q.userid for q in prepared_by}]
            if not people or not _record(db, village, o, rung, people, ctx):
                continue
            line = f"· {o.label()}：" + (f"应在{wording.day(o.due)}前公开，已超期{late}个工作日" if late
                                         else f"请在{wording.day(o.due)}前公示")
            if rung != "duty":
                line += f"，经办{'、'.join(p.name for p in prepared_by)}"
            for person in people:
                notes[(rung, person.userid)].append(line)
                if late:
                    late_for.add((rung, person.userid))
    for (rung, userid), lines in notes.items():
        head = rung if rung != "duty" or (rung, userid) in late_for else "reminder"
        out.members([userid], "\n".join([HEADS[head].format(village=village.name), *lines, FEET[head]]))


def _record(db: Database, village: Village, o: Obligation, rung: str, people: list[Person], ctx: JobContext) -> bool:
    cursor = db.execute(
        "INSERT OR IGNORE INTO publicity_nags (village, item, period, rung, day, userids, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [village.name, o.item.name, o.period.key, rung, ctx.day.isoformat(), json.dumps([p.userid for p in people]),
         ctx.at.isoformat()])
    if not cursor.rowcount:
        return False
    ledger.add(db, "publicity_nags", cursor.lastrowid)
    return True


JOB = Job("publicity", "公开提醒", lambda config: config.schedule.publicity, run)
