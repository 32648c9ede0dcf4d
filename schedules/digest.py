"""巡群日报: every morning each town's inspectors get one markdown message that reads at a glance on a phone —
town totals, the villages that need a look first, new clues, silent groups and the day's topics. It fits WeCom's
limit by construction (2048 bytes as an app message, 4096 from a group robot); villages that do not fit follow in
detail messages. Clue text only goes privately. The private copy also carries the audit chain's head, which is
appended to the anchor file as well: a record kept outside the database of how long the history was that morning."""
from __future__ import annotations

import asyncio
import statistics
from collections import Counter
from urllib.parse import quote
from datetime import date, datetime, timedelta
from typing import Sequence

from sqlite_utils import Database

from bot import ledger, trends, wording
from bot.casework import inspectors
from bot.config import Config, Town
from bot.desk import charts
from bot.desk import queries as desk_queries
from bot.outbound import Outgoing
from bot.trends import DigestNumbers
from bot.outbox import APP_MARKDOWN_LIMIT, MARKDOWN_LIMIT
from schedules import digest_customer
from bot.publicity_due import Timeliness, obligations, timeliness
from schedules.digest_stats import TownStats, VillageStats, gather_all
from bot.context import JobContext
from bot.jobs import Job

KIND_SHORT = {"consult": "咨询", "help": "求助", "suggestion": "建议", "disclosure": "公开"}
MAX_CLUES, MAX_SILENT, MAX_NUMBERS = 5, 10, 5   # the rest of each list is on the desk


async def run(ctx: JobContext) -> None:
    if not ctx.calendar.is_workday(ctx.day):
        return        # the next working day's digest covers the weekend or the holiday
    since = trends.digest_window(ctx.calendar, ctx.at, ctx.config.schedule.digest)
    # One head for the day, read before any town's digest: every town's inspectors see the same anchor.
    chain = await ctx.read(ledger.head)
    # Counted on a reader (jieba and a week of cases), one pass over the county for each count, so the writer
    # only holds the sends and the run marks.
    stats = await ctx.read(gather_all, ctx.config.towns, ctx.at, ctx.calendar, ctx.roles,
                           ctx.config.rules.unanswered_hours, bool(ctx.config.bridge.secret), ctx.at - since)
    numbers = await ctx.read(trends.digest_numbers, ctx.config.towns, ctx.at, ctx.calendar)
    # Customer groups' own lines (亮明身份, WeCom's activity counts, unconfirmed group sends), per town.
    extra = await ctx.read(digest_customer.gather_all, ctx.config, ctx.at, stats)
    owed = await ctx.read(publicity_timeliness, ctx)
    sent = await ctx.once_many([(t.name, lambda db, out, t=t: send(db, out, ctx, t, stats[t.name], chain,
                                                                   numbers[t.name], since, extra.get(t.name, []),
                                                                   owed[t.name]))
                                for t in ctx.config.towns])
    if sent and not ctx.rehearsal:   # a re-run that sent nothing adds no second line for the day
        await asyncio.to_thread(ledger.append_anchor, ctx.config.audit.anchor_file, ctx.day, *chain)
    await send_charts(ctx)


async def send_charts(ctx: JobContext) -> None:
    """After its digest, each town's inspectors' group gets one chart image a day (the desk's town chart): read on
    a reader, drawn on a worker thread, sent through the outbox like any robot message."""
    for town in ctx.config.towns:
        if not town.inspector_webhook_key:
            continue
        figures = await ctx.read(desk_queries.weekly, [v.name for v in town.villages], ctx.at)
        png = await asyncio.to_thread(charts.render, f"{town.name}·近8周诉求", figures)
        await ctx.once(f"chart:{town.name}", lambda db, out, t=town, png=png: out.inspectors_image(t, png))


def send(db: Database, out: Outgoing, ctx: JobContext, town: Town, stats: TownStats,
         chain: tuple[int, str] | None = None, numbers: DigestNumbers | None = None,
         since: datetime | None = None, extra: Sequence[str] = (), publicity: list[Timeliness] = ()) -> None:
    hours = ctx.config.rules.unanswered_hours
    link = desk_link(ctx.config, town)
    # The private copy is app markdown, which WeCom caps at 2048 bytes; the group robot allows 4096.
    for text in compose(town, ctx.day, stats, hours, private=True, limit=APP_MARKDOWN_LIMIT, chain=chain,
                        numbers=numbers, since=since, extra=extra, publicity=publicity, link=link):
        out.members(inspectors(town), text, markdown=True)
    if town.inspector_webhook_key:
        for text in compose(town, ctx.day, stats, hours, private=False, numbers=numbers, since=since, extra=extra,
                            publicity=publicity, link=link):
            out.inspectors_group(town, text)


def compose(town: Town, day: date, stats: TownStats, hours: int, *, private: bool,
            limit: int = MARKDOWN_LIMIT, chain: tuple[int, str] | None = None,
            numbers: DigestNumbers | None = None, since: datetime | None = None, extra: Sequence[str] = (),
            publicity: list[Timeliness] = (), link: Sequence[str] = ()) -> list[str]:
    """The digest and, when some villages did not fit, the detail messages; each within `limit` bytes.
    `chain`: the audit chain's (count, head), shown in the private copy only. `numbers`: the case numbers behind
    the counts and the week-on-week change (clue numbers privately only). `since`: where the window starts.
    `extra`: town lines other modules add (schedules/digest_customer.py), after the zombie groups; `publicity`:
    each village's 公开及时率 and what is late; `link`: the desk's line (desk_link), last in the first message."""
    head = [f"**巡群日报·{town.name}** {wording.day(day)}", *_totals(stats.villages, hours, _window(day, since))]
    tail = _clues(stats, private) + _numbers(numbers, private) + _silent(stats) + list(extra) + _topics(stats) \
        + _publicity(publicity)
    # The chain's head (privately) and the desk's link always stay in the first message, reserved like the worst
    # villages, so that neither is pushed into a continuation.
    anchor = (_chain(chain) if private else []) + list(link)
    ranked = sorted(stats.villages, key=lambda s: s.concern, reverse=True)
    more = f"另有 {len(ranked)} 个村（社区）见下条明细"   # reserved at its longest
    # The town's lines leave room for the three villages of most concern; what does not fit follows in its own
    # message rather than being clipped.
    worst = [_village_line(v) for v in ranked[:3]]
    room, tail, spilled = limit - _size(head + ["**各村**", *worst, more, *anchor]) - 1, [], tail
    while spilled and _size(tail + spilled[:1]) <= room:
        tail.append(spilled.pop(0))
    tail += anchor
    after = _pages(f"**巡群日报（续）·{town.name}** {wording.day(day)}", spilled, limit) if spilled else []
    budget = limit - _size(head + ["**各村**"] + tail + [more])
    shown: list[str] = []
    for i, village in enumerate(ranked):
        line = _village_line(village)
        if _size(shown + [line]) + 1 > budget:
            rest = [_village_line(v) for v in ranked[i:]]
            body = head + ["**各村**", *shown, f"另有 {len(rest)} 个村（社区）见下条明细"] + tail
            return ["\n".join(body), *after, *_pages(f"**巡群日报明细·{town.name}** {wording.day(day)}", rest, limit)]
        shown.append(line)
    return ["\n".join(head + ["**各村**", *shown] + tail), *after]


def _window(day: date, since: datetime | None) -> str:
    """过去24小时, or since which working day's digest (Monday's covers the weekend, the first after a holiday
    the holiday)."""
    if since is None or since.date() == day - timedelta(days=1):
        return "过去24小时"
    return f"自{wording.day(since)}日报以来"


def _numbers(numbers: DigestNumbers | None, private: bool) -> list[str]:
    """The numbers behind the counts, so an inspector can look each one up (查看 编号)."""
    if numbers is None:
        return []
    lines = []
    week = numbers.week
    this, before = sum(week.this_week.values()), sum(week.last_week.values())
    if this or before:
        change = f"{week.change:+d}" + (f"，{week.ratio:+.0%}" if week.ratio is not None else "")
        lines.append(f"**周环比**：近7天收到诉求 {this} 件，前7天 {before} 件（{change}）")
    for label, found in (("超期", numbers.overdue), ("近7天不满意", numbers.unsatisfied)):
        if found:
            lines.append(f"**{label}**：{_listed(found)}")
    if private and numbers.open_clues:
        late = f"｜超期未受理：{_listed(numbers.overdue_clues)}" if numbers.overdue_clues else ""
        lines.append(f"**在办线索 {len(numbers.open_clues)} 条**：{_listed(numbers.open_clues)}{late}")
    return lines


def _listed(numbers: list[str], most: int = MAX_NUMBERS) -> str:
    return "、".join(numbers[:most]) + (f" 等 {len(numbers)} 件" if len(numbers) > most else "")


def _totals(villages: list[VillageStats], hours: int, window: str = "过去24小时") -> list[str]:
    received = sum((v.received for v in villages), start=Counter())
    kinds = " ".join(f"{KIND_SHORT[k]}{n}" for k, n in received.most_common())
    overdue = sum(v.overdue for v in villages)
    waits = [w for v in villages for w in v.waits]
    rated = sum(v.rated for v in villages)
    lines = [f"{window}收到诉求 {sum(received.values())} 件" + (f"（{kinds}）" if kinds else "")
             + f"，答复 {sum(v.answered for v in villages)} 件",
             f"在办 {sum(v.open for v in villages)}｜将到期 {sum(v.due_soon for v in villages)}｜"
             + (f'<font color="warning">超期 {overdue}</font>' if overdue else "超期 0")
             + f"｜超{hours}小时未回应 {sum(v.unanswered for v in villages)}"]
    week = ([f"满意 {sum(v.satisfied for v in villages)}/{rated}"] if rated else []) \
        + ([f"首次响应中位 {_duration(statistics.median(waits))}"] if waits else [])
    return lines + ([f"近7天{'｜'.join(week)}"] if week else [])


def _village_line(v: VillageStats) -> str:
    parts = []
    if v.received:
        kinds = " ".join(f"{KIND_SHORT[k]}{n}" for k, n in v.received.most_common())
        parts.append(f"收{sum(v.received.values())}({kinds})")
    parts += [f"{label}{n}" for label, n in (("答", v.answered), ("在办", v.open)) if n]
    if v.overdue:
        parts.append(f'<font color="warning">超期{v.overdue}</font>')
    parts += [f"{label}{n}" for label, n in (("未回应", v.unanswered), ("将到期", v.due_soon)) if n]
    if v.rated:
        parts.append(f"满意{v.satisfied}/{v.rated}")
    if v.response is not None:
        parts.append(f"响应{_duration(v.response)}")
    if v.silent:
        parts.append("7天无消息")
    return f"> {v.name}　" + (" ".join(parts) if parts else "无新诉求、无积压")


def _clues(stats: TownStats, private: bool) -> list[str]:
    if not stats.clues:
        return []
    if not private:
        numbers = "、".join(c.number for c in stats.clues[:MAX_CLUES * 4])
        extra = f"等 {len(stats.clues)} 条" if len(stats.clues) > MAX_CLUES * 4 else ""
        return [f"**新线索 {len(stats.clues)} 条**：{numbers}{extra}（内容已私信纪委）"]
    lines = [f"**新线索 {len(stats.clues)} 条**"]
    lines += [f"> {c.number} {c.village}：{wording.snippet(c.text, 40)}" for c in stats.clues[:MAX_CLUES]]
    if len(stats.clues) > MAX_CLUES:
        lines.append(f"> 另有 {len(stats.clues) - MAX_CLUES} 条，见线索私信")
    return lines


def _silent(stats: TownStats) -> list[str]:
    silent = [v.name for v in stats.villages if v.silent]
    if not silent:
        return []
    more = f"等 {len(silent)} 个" if len(silent) > MAX_SILENT else ""
    return [f"**7天无消息（僵尸群）**：{'、'.join(silent[:MAX_SILENT])}{more}"]


def _topics(stats: TownStats) -> list[str]:
    return [f"**今日话题**：{' '.join(f'{w}({n})' for w, n in stats.topics)}"] if stats.topics else []


def publicity_timeliness(db: Database, ctx: JobContext) -> dict[str, list[Timeliness]]:
    """Each town's villages' 公开及时率 as of the morning (read on a reader, one query for the county)."""
    names = [v.name for v in ctx.config.villages()]
    owed = obligations(db, ctx.config.power_list, ctx.calendar, names, ctx.day)
    return {t.name: [timeliness(owed[v.name], ctx.day, v.name) for v in t.villages] for t in ctx.config.towns}


def _publicity(report: list[Timeliness], villages: int = 5, items: int = 3) -> list[str]:
    """村务公开: the town's share of what fell due that was published on time (公开及时率), then the villages that
    lag most, each with what is still missing; bounded, so a town of many villages still fits one message."""
    counted = [t for t in report if t.counted]
    if not counted:
        return []
    on_time, due = sum(t.on_time for t in counted), sum(t.counted for t in counted)
    lines = [f"**村务公开** 全镇公开及时率 {on_time / due:.0%}（{on_time}/{due}）"]
    lagging = sorted((t for t in counted if t.late or t.on_time < t.counted), key=lambda t: (t.rate, t.village))
    for t in lagging[:villages]:
        late = "、".join(o.label() for o in t.late[:items]) + (f"等{len(t.late)}项" if len(t.late) > items else "")
        lines.append(f"· {t.village} 及时率 {t.rate:.0%}（{t.on_time}/{t.counted}）" + (f" 逾期：{late}" if late else ""))
    if len(lagging) > villages:
        lines.append(f"另有 {len(lagging) - villages} 个村（社区）公开不及时")
    return lines


def desk_link(config: Config, town: Town) -> list[str]:
    """One line to the town's page on the desk, when the desk has a public address. The town's name is
    percent-encoded, so that the address is plain ASCII and any client links all of it."""
    base = config.desk.base_url.rstrip("/")
    if not (base and config.desk.secret):
        return []
    return [f"详情：{base}/desk/town/{quote(town.name)}"]


def _chain(chain: tuple[int, str] | None) -> list[str]:
    return [f"审计链：第 {chain[0]} 条，尾 {chain[1][:12]}"] if chain and chain[0] else []


def _pages(title: str, lines: list[str], limit: int) -> list[str]:
    pages: list[list[str]] = [[title]]
    for line in lines:
        if _size(pages[-1] + [line]) > limit:
            pages.append([f"{title}（续）"])
        pages[-1].append(line)
    return ["\n".join(p) for p in pages]


def _size(lines: list[str]) -> int:
    return len("\n".join(lines).encode("utf-8"))


def _duration(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}分钟"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f}小时".replace(".0小时", "小时")
    return f"{minutes // 1440}天"


JOB = Job("digest", "巡群日报", lambda config: config.schedule.digest, run)
