"""Deadline nags (催办): a case due within one working day, due today or overdue is pressed on whoever holds it;
overdue cases climb a rung a working day: duty cadre → party secretary → link leader → township inspectors.
A case the village marked beyond itself is pressed the same way until it is passed up. Working days and hours
only; at most one nag per case, rung and day (the nags table), whoever runs the job and however often."""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlite_utils import Database

from bot import cases, duty, ledger, wording
from bot.cases import Case
from bot.casework import Pressing, holders, ladder_people, pressing, rungs
from bot.config import Cadre, Person, Town, Village
from bot.workdays import Counted, WorkCalendar
from bot.context import JobContext
from bot.jobs import CHUNK, Job
from bot.outbound import Outgoing

HEADS = {   # the heading of each rung's note; {state} is what its items have in common (see _state)
    "duty": "【催办提醒】{where}以下事项请抓紧：",
    "secretary": "【{tag}·请督促】{where}以下诉求{state}：",
    "leader": "【{tag}·挂包领导】{where}以下诉求{state}：",
    "inspectors": "【{tag}·纪委】{where}以下事项{state}：",
}
FEET = {
    "duty": "办结请回复“办结 编号 结果”；村里解决不了请回复“上报 编号 原因”。",
    "secretary": "请督促经办干部尽快办结并答复群众。",
    "leader": "请过问推动。",
    "inspectors": "请关注，必要时回复“督办 编号 意见”。",
}


def in_working_hours(ctx: JobContext) -> bool:
    rules = ctx.config.rules
    return ctx.calendar.is_workday(ctx.day) and rules.work_start <= ctx.at.time() < rules.work_end


@dataclass
class Found:
    """What presses today, from one pass over the county: the ids of village cases by village, of the rest by
    town (ids only, so a province's pass stays small; each chunk reads its cases again inside its transaction)."""
    villages: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    towns: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))


def find_pressing(db: Database, calendar: WorkCalendar | Counted, at: datetime) -> Found:
    """`pressing` is due within one working day or overdue: a deadline on a day before the second working day from
    today. The pass asks SQL for exactly those; each chunk still asks `pressing` of every case it reads again."""
    found = Found()
    for case_id, town, village, in_village in cases.due_before(db, calendar.add_workdays(at.date(), 2)):
        (found.villages[village] if in_village else found.towns[town]).append(case_id)
    return found


class Chunk:
    """The cases of a chunk of targets, read once inside the chunk's transaction (as they stand now, not as the
    pass saw them: a case answered meanwhile is not pressed)."""

    def __init__(self, ids: list[int]):
        self.ids, self._cases = ids, None

    def pressing(self, db: Database, ids: list[int], calendar: Counted, at: datetime) -> list[Pressing]:
        if self._cases is None:
            self._cases = cases.by_ids(db, self.ids)
        found = (self._cases.get(i) for i in ids)
        return [p for c in found if c is not None and c.active if (p := pressing(c, calendar, at))]


async def run(ctx: JobContext) -> None:
    if not in_working_hours(ctx):
        return   # not marked as run: a run within working hours today still goes out
    calendar = Counted(ctx.calendar)
    # Read on a reader, once for the county: the writer only records the nags and queues the sends.
    found = await ctx.read(find_pressing, calendar, ctx.at)
    rosters = await ctx.read(duty.on_duty_all, list(ctx.config.villages()), ctx.day)
    targets = [(t, v) for t in ctx.config.towns for v in (*t.villages, None)]     # None: the town's own
    for start in range(0, len(targets), CHUNK):
        part = targets[start:start + CHUNK]
        chunk = Chunk([i for t, v in part for i in (found.villages.get(v.name, []) if v else found.towns.get(t.name, []))])
        await ctx.once_many([
            (v.name, lambda db, out, t=t, v=v: nag_village(
                db, out, ctx, t, v, chunk.pressing(db, found.villages.get(v.name, []), calendar, ctx.at),
                rosters[v.name]))
            if v else
            (f"{t.name}（镇级）", lambda db, out, t=t: nag_town(
                db, out, ctx, t, chunk.pressing(db, found.towns.get(t.name, []), calendar, ctx.at)))
            for t, v in part], chunk=CHUNK)


def nag_village(db: Database, out: Outgoing, ctx: JobContext, town: Town, village: Village,
                found: list[Pressing], on_duty: list[Cadre]) -> None:
    notes: dict[tuple[str, str], list[tuple[str, Pressing]]] = defaultdict(list)
    group_lines, group_mentions = [], []
    due = Due()
    secretary = village.secretary.userid if village.secretary else None
    # A village's cases share a few holders and one person a rung: each is worked out once, and its list is the
    # same object for every case it holds (Due writes each list's userids once).
    held: dict[str | None, tuple[list[Person], bool]] = {}
    ladder: dict[str, list[Person]] = {}
    for p in found:
        if p.case.level != "village" or p.case.confidential:
            continue      # passed up since the pass: the town's run presses it from tomorrow
        if p.case.assignee not in held:
            people = holders(db, village, p.case, ctx.day, on_duty)
            held[p.case.assignee] = people, any(h.userid == secretary for h in people)
        held_by, is_secretary = held[p.case.assignee]
        for rung in rungs(p, holder_is_secretary=is_secretary):
            if rung != "duty" and rung not in ladder:
                ladder[rung] = ladder_people(town, village, rung)
            due.add(p, rung, held_by if rung == "duty" else ladder[rung], held_by)
    lines: dict[int, str] = {}
    for p, rung, people, held_by in due.record(db, ctx):
        if p.case.id not in lines:
            lines[p.case.id] = _line(p)       # the same words on every rung it is pressed on today
        line = lines[p.case.id] if rung == "duty" else f"{lines[p.case.id]}，经办{'、'.join(h.name for h in held_by)}"
        for person in people:
            notes[(rung, person.userid)].append((line, p))
        if rung == "duty" and p.case.status == "open" and p.case.chat_id:
            # The group is reminded of what it saw raised; a request made privately (微信客服) is pressed privately.
            group_lines.append(f"编号 {p.case.number}（{p.case.kind_name}）{p.status()}")
            group_mentions += [h.userid for h in held_by]
    if group_lines:
        out.group(village, "【办理提醒】\n" + "\n".join(group_lines) + "\n请经办干部抓紧办理并答复。",
                  mentions=list(dict.fromkeys(group_mentions)), post="reminder")
    _send(out, notes, village.name)


def nag_town(db: Database, out: Outgoing, ctx: JobContext, town: Town, found: list[Pressing]) -> None:
    notes: dict[tuple[str, str], list[tuple[str, Pressing]]] = defaultdict(list)
    due = Due()
    for p in found:
        if p.case.level == "village" and not p.case.confidential:
            continue      # sent back to the village since the pass: its own run presses it from tomorrow
        for rung in rungs(p):
            due.add(p, rung, town_people(ctx, town, p.case, rung))
    for p, rung, people, _ in due.record(db, ctx):
        line = _line(p, where=True)
        for person in people:
            notes[(rung, person.userid)].append((line, p))
    _send(out, notes, f"{town.name}（镇、县办理）")


def town_people(ctx: JobContext, town: Town, case: Case, rung: str) -> list[Person]:
    """Who a case above the village is pressed to. At the county the department it was handed to holds it, and
    the county commission, which supervises it, hears when it is overdue (the town's inspectors without one)."""
    county = ctx.config.county
    if case.level == "county" and not case.confidential and county.commission:
        department = county.department(case.department) if case.department else None
        return list(department.contacts) if department and rung == "duty" else list(county.commission)
    assignee = ctx.roles.person(case.assignee) if case.assignee else None
    return ([assignee] if assignee else list(town.staff) or list(town.inspectors)) \
        if rung == "duty" else list(town.inspectors)


class Due:
    """A target's nags of today, recorded together: at most one per case, rung and day (the nags table's UNIQUE),
    in two statements however many cases (a province's morning records a million and more of these)."""

    def __init__(self) -> None:
        self.wanted: list[tuple[Pressing, str, list[Person], list[Person]]] = []
        self._userids: dict[int, tuple[list[Person], str]] = {}

    def add(self, p: Pressing, rung: str, people: list[Person], held_by: list[Person] = ()) -> None:
        self.wanted.append((p, rung, people, held_by))    # lists shared between cases: never changed here

    def record(self, db: Database, ctx: JobContext) -> list[tuple[Pressing, str, list[Person], list[Person]]]:
        """Records them and seals the new rows in the ledger; returns, in order, those not recorded before today."""
        if not self.wanted:
            return []
        # The batch's JSON written row by row from pieces made once (json.dumps would escape every row's userids).
        rows = "[" + ",".join(f'[{p.case.id},"{rung}",{self._json(people)}]' for p, rung, people, _ in self.wanted) \
            + "]"
        new = db.execute(
            "INSERT OR IGNORE INTO nags (case_id, rung, day, userids, at) "
            "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ?, json_extract(value, '$[2]'), ? "
            "FROM json_each(?) ORDER BY key RETURNING id, case_id, rung",
            [ctx.day.isoformat(), ctx.at.isoformat(), rows]).fetchall()
        ledger.add_many(db, "nags", [row_id for row_id, _, _ in new])
        fresh, recorded = {(case_id, rung) for _, case_id, rung in new}, []
        for wanted in self.wanted:
            if (wanted[0].case.id, wanted[1]) in fresh:
                fresh.remove((wanted[0].case.id, wanted[1]))      # a repeat in the batch was ignored, as before
                recorded.append(wanted)
        return recorded

    def _json(self, people: list[Person]) -> str:
        """The people's userids as a JSON list, as a JSON string. By the list's identity: a village's cases share
        a few lists (kept alive by `wanted`, so no id is reused), and the same people in another list get the
        same text anyway."""
        known = self._userids.get(id(people))
        if known is None:
            known = self._userids[id(people)] = people, json.dumps(json.dumps([p.userid for p in people]),
                                                                   ensure_ascii=False)
        return known[1]


def _line(p: Pressing, where: bool = False) -> str:
    c = p.case
    place = f"{c.village}·" if where else ""
    pending = "（待确认）" if c.status == "unconfirmed" else ""
    return f"· {c.number} {place}{c.kind_name}{pending}「{wording.snippet(c.text, 14)}」{p.status()}"


def _state(items: list[Pressing]) -> tuple[str, str]:
    """(tag, state) that is true of every item under the heading: "超期多日" only over items overdue for days."""
    days = [p.overdue_days for p in items]
    if min(days) >= 3:
        return "超期提醒", "超期多日仍未办结"
    if min(days) >= 1:
        return "超期提醒", "已超期，仍未办结"
    if max(days) == 0:
        return "到期提醒", "即将到期"
    return "超期提醒", "已到期或超期"


def _send(out: Outgoing, notes: dict[tuple[str, str], list[tuple[str, Pressing]]], where: str) -> None:
    for (rung, userid), items in notes.items():
        tag, state = _state([p for _, p in items])
        if rung == "inspectors":
            tag = "超期预警" if tag == "超期提醒" else tag
        head = HEADS[rung].format(where=where, tag=tag, state=state)
        out.members([userid], "\n".join([head, *(line for line, _ in items), FEET[rung]]))


JOB = Job("nags", "催办提醒", lambda config: config.schedule.nags, run)
