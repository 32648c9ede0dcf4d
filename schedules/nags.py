"""Deadline nags (催办): a case due within one working day, due today or overdue is pressed on whoever holds it;
overdue cases climb a rung a working day: duty cadre → party secretary → link leader → township inspectors.
A case the village marked beyond itself is pressed the same way until it is passed up. Working days and hours
only; at most one nag per case, rung and day (the nags table), whoever runs the job and however often."""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlite_utils import Database

from bot import cases, duty, wording
from bot.cases import Case
from bot.config import Person, Town, Village
from bot.outbound import Outgoing
from bot.workdays import WorkCalendar
from schedules.jobs import Job, JobContext

LADDER = ("duty", "secretary", "leader", "inspectors")
ACTIVE = ("open", "unconfirmed")
HEADS = {
    "duty": "【催办提醒】{where}以下事项请抓紧：",
    "secretary": "【超期提醒·请督促】{where}以下诉求已超期：",
    "leader": "【超期提醒·挂包领导】{where}以下诉求超期多日仍未办结：",
    "inspectors": "【超期预警·纪委】{where}以下事项超期多日仍未办结：",
}
FEET = {
    "duty": "办结请回复“办结 编号 结果”；村里解决不了请回复“上报 编号 原因”。",
    "secretary": "请督促经办干部尽快办结，并在群里答复群众。",
    "leader": "请过问推动。",
    "inspectors": "请关注，必要时回复“督办 编号 意见”。",
}


@dataclass(frozen=True)
class Pressing:
    case: Case
    deadline: datetime
    beyond: bool          # the village said it cannot solve it: the deadline is for passing it up
    overdue_days: int     # working days past the deadline; 0 while it is still due
    today: date

    def status(self) -> str:
        if self.overdue_days:
            return ("上报" if self.beyond else "") + f"已超期{self.overdue_days}个工作日"
        if self.deadline.date() == self.today:
            return "须今天内上报镇里" if self.beyond else "今天到期"
        due = wording.day(self.deadline)
        return f"须{due}前上报镇里" if self.beyond else f"{due}到期"


def pressing(case: Case, calendar: WorkCalendar, at: datetime) -> Pressing | None:
    beyond = case.level == "village" and case.escalate_by is not None
    deadline = case.escalate_by if beyond else case.due_at
    if at <= deadline:
        if calendar.workdays_between(at.date(), deadline.date()) > 1:
            return None
        return Pressing(case, deadline, beyond, 0, at.date())
    overdue = max(1, calendar.workdays_between(deadline.date(), at.date()))
    return Pressing(case, deadline, beyond, overdue, at.date())


def rungs(p: Pressing) -> list[str]:
    """Who is pressed today. A village case: its holder every day, plus the rung its overdue days have reached."""
    if p.case.confidential:
        return ["inspectors"]                  # clues are the inspectors' own ledger
    if p.case.level == "county":
        return ["inspectors"] if p.overdue_days else []
    if p.case.level == "town":
        return ["duty"] if p.overdue_days <= 1 else ["duty", "inspectors"]
    return list(dict.fromkeys(["duty", LADDER[min(max(p.overdue_days - 1, 0), 3)]]))


def in_working_hours(context: JobContext) -> bool:
    rules = context.config.rules
    return context.bot.calendar.is_workday(context.day) and rules.work_start <= context.at.time() < rules.work_end


async def run(context: JobContext) -> None:
    if not in_working_hours(context):
        return   # not marked as run: a run within working hours today still goes out
    for town in context.config.towns:
        for village in town.villages:
            await context.once(village.name, lambda db, out, t=town, v=village: nag_village(db, out, context, t, v))
        await context.once(f"{town.name}（镇级）", lambda db, out, t=town: nag_town(db, out, context, t))


def nag_village(db: Database, out: Outgoing, context: JobContext, town: Town, village: Village) -> None:
    found = [p for c in cases.find(db, village=village.name, statuses=ACTIVE) if c.level == "village"
             if (p := pressing(c, context.bot.calendar, context.at))]
    notes: dict[tuple[str, str], list[str]] = defaultdict(list)
    group_lines, group_mentions = [], []
    for p in found:
        holders = _holders(db, village, p.case, context.day)
        for rung in rungs(p):
            people = holders if rung == "duty" else _people(town, village, rung)
            if not _record(db, p.case, rung, people, context):
                continue
            who = "" if rung == "duty" else f"，经办{'、'.join(h.name for h in holders)}"
            for person in people:
                notes[(rung, person.userid)].append(_line(p) + who)
            if rung == "duty" and p.case.status == "open":
                group_lines.append(f"编号 {p.case.number}（{p.case.kind_name}）{p.status()}")
                group_mentions += [h.userid for h in holders]
    if group_lines:
        out.group(village, "【办理提醒】\n" + "\n".join(group_lines) + "\n请经办干部抓紧办理，并在群里答复。",
                  mentions=list(dict.fromkeys(group_mentions)))
    _send(out, notes, village.name)


def nag_town(db: Database, out: Outgoing, context: JobContext, town: Town) -> None:
    held = [c for c in cases.find(db, town=town.name, statuses=ACTIVE, confidential=None)
            if c.level != "village" or c.confidential]
    notes: dict[tuple[str, str], list[str]] = defaultdict(list)
    for p in filter(None, (pressing(c, context.bot.calendar, context.at) for c in held)):
        for rung in rungs(p):
            assignee = context.bot.roles.person(p.case.assignee) if p.case.assignee else None
            people = ([assignee] if assignee else list(town.staff) or list(town.inspectors)) \
                if rung == "duty" else list(town.inspectors)
            if _record(db, p.case, rung, people, context):
                for person in people:
                    notes[(rung, person.userid)].append(_line(p, where=True))
    _send(out, notes, f"{town.name}（镇、县办理）")


def _holders(db: Database, village: Village, case: Case, day: date) -> list[Person]:
    assignee = village.cadre(case.assignee) if case.assignee else None
    return [assignee] if assignee else list(duty.responsible(db, village, day))


def _people(town: Town, village: Village, rung: str) -> list[Person]:
    if rung == "secretary" and village.secretary:
        return [village.secretary]
    if rung == "leader" and village.link_leader:
        return [village.link_leader]
    # No link leader configured: the town's staff press it, and failing them the inspectors.
    return list(town.staff if rung == "leader" and town.staff else town.inspectors)


def _record(db: Database, case: Case, rung: str, people: list[Person], context: JobContext) -> bool:
    cursor = db.execute("INSERT OR IGNORE INTO nags (case_id, rung, day, userids, at) VALUES (?, ?, ?, ?, ?)",
                        [case.id, rung, context.day.isoformat(), json.dumps([p.userid for p in people]),
                         context.at.isoformat()])
    return bool(cursor.rowcount)


def _line(p: Pressing, where: bool = False) -> str:
    c = p.case
    place = f"{c.village}·" if where else ""
    pending = "（待确认）" if c.status == "unconfirmed" else ""
    return f"· {c.number} {place}{c.kind_name}{pending}「{wording.snippet(c.text, 14)}」{p.status()}"


def _send(out: Outgoing, notes: dict[tuple[str, str], list[str]], where: str) -> None:
    for (rung, userid), lines in notes.items():
        out.members([userid], "\n".join([HEADS[rung].format(where=where), *lines, FEET[rung]]))


JOB = Job("nags", "催办提醒", lambda config: config.schedule.nags, run)
