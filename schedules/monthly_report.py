"""月度考核: on the first working day of each month (after New Year's Day or National Day, the first one after
the holiday), each town's inspectors get last month's assessment of every village, and each link leader that
of the villages he hangs on. The figures are bot/assessment.py's; the Excel file with every cadre is
`xiaowei export assessment`."""
from __future__ import annotations

from sqlite_utils import Database

from bot.assessment import Score, assess, first_workday_of_month, previous_month
from bot.casework import inspectors
from bot.config import Town
from bot.context import JobContext
from bot.jobs import Job
from bot.outbound import Outgoing
from bot.outbox import APP_MARKDOWN_LIMIT


async def run(ctx: JobContext) -> None:
    if not first_workday_of_month(ctx.calendar, ctx.day):
        return
    month = previous_month(ctx.day)
    result = await ctx.read(assess, ctx.config, ctx.calendar, month, ctx.at)
    by_town = {t.name: [s for s in result.villages if s.town == t.name] for t in ctx.config.towns}
    await ctx.once_many([(f"{t.name}:{result.month}", lambda db, out, t=t: send(db, out, t, result.month,
                                                                                  by_town[t.name]))
                         for t in ctx.config.towns])


def send(db: Database, out: Outgoing, town: Town, month: str, scores: list[Score]) -> None:
    for text in compose(town.name, month, scores):
        out.members(inspectors(town), text, markdown=True)
    leaders: dict[str, list[Score]] = {}
    for village in town.villages:
        if village.link_leader:
            leaders.setdefault(village.link_leader.userid, []).extend(s for s in scores if s.village == village.name)
    for userid, mine in leaders.items():
        for text in compose(town.name, month, mine):
            out.members([userid], text, markdown=True)


def compose(town: str, month: str, scores: list[Score], limit: int = APP_MARKDOWN_LIMIT) -> list[str]:
    year, number = month.split("-")
    title = f"**月度考核·{town}** {year}年{int(number)}月"
    foot = f"各干部明细：xiaowei export assessment --month {month} --town {town} --out 考核.xlsx"
    pages: list[list[str]] = [[title]]
    for line in map(village_line, scores):
        if len("\n".join(pages[-1] + [line, foot]).encode("utf-8")) > limit:
            pages.append([f"{title}（续）"])
        pages[-1].append(line)
    pages[-1].append(foot)
    return ["\n".join(p) for p in pages]


def village_line(s: Score) -> str:
    def rate(value: float | None, done: int, total: int) -> str:
        return f"{value:.0%}（{done}/{total}）" if value is not None else "—"
    parts = [f"受理{s.received}", f"按期办结{rate(s.on_time_rate, s.on_time, s.decided)}",
             f"满意{rate(s.satisfaction_rate, s.satisfied, s.rated)}"]
    if s.first_response is not None:
        hours = s.first_response.total_seconds() / 3600
        parts.append(f"首次响应中位{hours:.1f}小时".replace(".0小时", "小时"))
    if s.passed_up:
        parts.append(f"按时上报{s.passed_up_in_time}/{s.passed_up}")
    parts += [f"{label}{n}" for label, n in (("重新办理", s.reopened), ("被催办", s.nags)) if n]
    return f"> {s.village}　" + "｜".join(parts)


JOB = Job("monthly_report", "月度考核", lambda config: config.schedule.digest, run)
