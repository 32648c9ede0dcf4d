"""值班公告: each morning every group learns who is on duty today, how to reach them and where to raise a request.
A village with nobody on the roster gets no empty notice; its party secretary is told instead."""
from __future__ import annotations

from datetime import date

from sqlite_utils import Database

from bot import duty, group_kinds, wording
from bot.config import Cadre, Village
from bot.outbound import Outgoing
from bot.context import JobContext
from bot.jobs import Job
from bot.workdays import HolidayBreak


async def run(ctx: JobContext) -> None:
    villages = list(ctx.config.villages())
    # The day's roster for the whole county in one read; the posts then commit a few hundred villages at a time.
    rosters = await ctx.read(duty.on_duty_all, villages, ctx.day)
    holiday = ctx.calendar.break_ahead(ctx.day)
    await ctx.once_many([(v.name, lambda db, out, v=v: post(db, out, v, ctx.day, rosters[v.name], holiday))
                         for v in villages])


def post(db: Database, out: Outgoing, village: Village, day: date, cadres: list[Cadre] | None = None,
         holiday: HolidayBreak | None = None) -> None:
    """cadres: today's duty cadres when already read (the morning run reads the county at once); holiday: the
    days off coming soon, which the notice says do not count towards the time limits."""
    cadres = duty.on_duty(db, village, day) if cadres is None else cadres
    if cadres:
        out.group(village, notice(village, cadres, day, holiday), mentions=[c.userid for c in cadres],
                  post="morning")
    elif village.secretary is not None:
        out.members([village.secretary.userid], (
            f"【值班未排】{village.name}{wording.day(day)}没有排值班，今天群里不发值班公告。"
            "今天的群众诉求先由您负责；请尽快把值班表报镇里录入。"))


def notice(village: Village, cadres: list[Cadre], day: date, holiday: HolidayBreak | None = None) -> str:
    lines = [f"【值班公告】{wording.day(day)}", "今天值班："]
    lines += [f"{c.post}{c.name}" + (f" {c.phone}" if c.phone else "") for c in cadres]
    lines.append(f"有事请{group_kinds.ask_here(village)}说明，值班干部会及时办理答复。")
    if village.mini_program_url:
        lines.append(f"也可以在小程序提交：{village.mini_program_url}")
    if village.kf_link:      # 微信客服: residents on personal WeChat can write to 小微 privately
        lines.append(f"私信小微：{village.kf_link}（反映干部问题也可私信，全程保密）")
    else:
        lines.append("反映干部问题可私聊小微，全程保密。")
    if holiday is not None:
        lines.append(holiday_line(holiday))
    return "\n".join(lines)


def holiday_line(h: HolidayBreak) -> str:
    """元旦假期（1月1日至3日）不计入办理时限；1月4日（周日）调休上班，照常计算。"""
    span = f"{h.first.month}月{h.first.day}日" + (
        "" if h.first == h.last else
        f"至{h.last.day}日" if h.first.month == h.last.month else f"至{h.last.month}月{h.last.day}日")
    line = f"{h.name}假期（{span}）不计入办理时限"
    if h.adjusted:
        line += f"；{'、'.join(wording.day(d) for d in h.adjusted)}调休上班，照常计算"
    return line + "。"


JOB = Job("duty_notice", "值班公告", lambda config: config.schedule.duty_notice, run)
