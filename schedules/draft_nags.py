"""Drafts nobody posted (草稿未发): a customer group's answer handed to the duty cadre and not seen posted in the
group within [rules] draft_post_hours working hours is pressed like a late case — the cadre it was handed to
privately, then, one more such span later each, the party secretary, the link leader, the township inspectors
(schedules/nags.py's ladder). Each rung of each draft once, however often the job runs: it runs every hour, at
the nags' minute, within working hours."""
from __future__ import annotations

from collections import defaultdict

from sqlite_utils import Database

from bot import drafts, duty, wording
from bot.casework import LADDER, ladder_people
from bot.config import Person
from bot.context import JobContext
from bot.jobs import Job
from bot.outbound import Outgoing
from schedules.nags import in_working_hours

HEADS = {
    "duty": "【草稿未发】以下答复还没有发到{village}群里，群众还在等。请复制发到群里：",
    "secretary": "【草稿未发·请督促】{village}群以下答复{hours}个工作小时仍未发出：",
    "leader": "【草稿未发·挂包领导】{village}群以下答复迟迟没有发出：",
    "inspectors": "【草稿未发·纪委】{village}群以下答复迟迟没有发出：",
}
FEET = {
    "secretary": "请督促值班干部发到群里。",
    "leader": "请过问推动。",
    "inspectors": "请关注。",
}


async def run(ctx: JobContext) -> None:
    if not in_working_hours(ctx):
        return
    await ctx.commit(lambda db, out: press(db, out, ctx), key=f"job:draft_nags:{ctx.at.isoformat()}")


def press(db: Database, out: Outgoing, ctx: JobContext) -> None:
    notes: dict[tuple[str, str, str], list[str]] = defaultdict(list)   # (rung, village, userid) -> lines
    for late in drafts.late(db, ctx.calendar, ctx.config.rules, ctx.at):
        village = ctx.config.village_by_name(late.draft.village)
        if village is None:
            continue      # a village since removed from the configuration: nobody left to press
        town = ctx.config.town(village.town)
        handed = [c for c in (village.cadre(u) for u in late.draft.handed_to) if c is not None] \
            or list(duty.responsible(db, village, ctx.day))
        for rung in dict.fromkeys(["duty", LADDER[min(late.spans, len(LADDER) - 1)]]):
            people: list[Person] = handed if rung == "duty" else ladder_people(town, village, rung)
            if not drafts.record_nag(db, late.draft, rung, [p.userid for p in people], ctx.at):
                continue
            for person in people:
                notes[(rung, village.name, person.userid)].append(_line(late, rung, handed))
    for (rung, village, userid), lines in notes.items():
        head = HEADS[rung].format(village=village, hours=ctx.config.rules.draft_post_hours)
        out.members([userid], "\n".join([head, *lines, *([FEET[rung]] if rung in FEET else [])]))


def _line(late: drafts.Late, rung: str, handed: list[Person]) -> str:
    draft = late.draft
    what = drafts.PURPOSE_NAMES.get(draft.purpose, "答复")
    about = f"编号 {draft.number} 的{what}" if draft.number else what
    if rung == "duty":      # the one who posts it gets the words again, ready to paste
        return f"· {about}（{wording.moment(draft.created_at)}交给您）：\n{draft.text}"
    return f"· {about}，{wording.moment(draft.created_at)}交给{'、'.join(p.name for p in handed)}"


JOB = Job("draft_nags", "草稿未发提醒", lambda config: config.schedule.nags, run, hourly=True)
