"""What WeCom knows about customer groups' yesterday, fetched before the digest: the group statistics
(groupchat/statistic, per owner and natural day — WeCom has no per-group count), for each of the last 7 days not
stored yet, and whether yesterday's group send went out after the morning's check (sent, or unconfirmed)."""
from __future__ import annotations

import logging
from datetime import date, timedelta

from sqlite_utils import Database

from bot.channels.customer import GroupStats, group_send_status, group_stats
from bot.channels.wecom import WeComClient
from bot.context import JobContext
from bot.identity import FETCH_FAILED
from bot.jobs import Job

log = logging.getLogger("xiaowei.customer_stats")
DAYS = 7              # the zombie-group window of the digest
OWNERS_PER_CALL = 100  # groupchat/statistic owner_filter.userid_list


def owners(ctx: JobContext) -> list[str]:
    return sorted({v.group_owner for v in ctx.config.villages() if v.group == "customer" and v.group_owner})


async def run(ctx: JobContext) -> None:
    client = ctx.wecom()
    if client is None or not owners(ctx):
        return   # a command-line run, or no customer group: nothing to ask WeCom
    try:
        await fetch_stats(ctx, client)
    except FETCH_FAILED as exc:
        log.warning("customer group statistics not read: %s", type(exc).__name__)
        # The text is made here: the transaction runs on the writer thread, and `exc` is unbound after this block.
        text = (f"读不到客户群统计（{exc}），今天巡群日报里客户群的活跃度不全。"
                "请确认自建应用在客户联系「可调用应用」里，群主在应用的可见范围内。")
        await ctx.commit(lambda db, out: out.alert_admins(f"customer-stats:{ctx.day}", text))
    await settle_sends(ctx, client)


async def fetch_stats(ctx: JobContext, client: WeComClient) -> None:
    wanted = owners(ctx)
    days = [ctx.day - timedelta(days=n) for n in range(DAYS, 0, -1)]
    have = await ctx.read(_stored, days[0])
    for day in days:
        missing = [o for o in wanted if (o, day.isoformat()) not in have]
        for start in range(0, len(missing), OWNERS_PER_CALL):
            part = missing[start:start + OWNERS_PER_CALL]
            stats = await group_stats(client, part, day)
            # An owner WeCom returns nothing for is stored as counting no group (chat_total 0), asked once: the
            # digest then says nothing of that village's activity rather than call it a zombie.
            await ctx.commit(lambda db, out, d=day, p=part, s=stats: _store(db, d, {o: s.get(o, GroupStats())
                                                                                 for o in p}, ctx))


def _stored(db: Database, since: date) -> set[tuple[str, str]]:
    return {(r[0], r[1]) for r in db.execute("SELECT owner, day FROM customer_group_stats WHERE day >= ?",
                                             [since.isoformat()])}


def _store(db: Database, day: date, stats: dict[str, GroupStats], ctx: JobContext) -> None:
    db["customer_group_stats"].upsert_all([
        {"owner": owner, "day": day.isoformat(), "chat_total": s.chat_total, "chat_has_msg": s.chat_has_msg,
         "member_total": s.member_total, "member_has_msg": s.member_has_msg, "msg_total": s.msg_total,
         "new_member_cnt": s.new_member_cnt, "fetched_at": ctx.at.isoformat()} for owner, s in stats.items()],
        pk=("owner", "day"))


async def settle_sends(ctx: JobContext, client: WeComClient) -> None:
    """Yesterday's sends still open after the check: an owner who tapped after 10:30 counts as sent."""
    yesterday = (ctx.day - timedelta(days=1)).isoformat()
    open_rows = await ctx.read(lambda db: list(db["group_sends"].rows_where(
        "day = ? AND status IN ('waiting', 'reminded') AND msgid IS NOT NULL", [yesterday])))
    for row in open_rows:
        village = ctx.config.village_by_name(row["village"])
        try:
            status = await group_send_status(client, row["msgid"])
        except FETCH_FAILED:
            continue   # left open: the digest lists it as unconfirmed, which is what the bot knows
        sent = village is not None and village.chat_id in status.delivered
        await ctx.commit(lambda db, out, r=row, s=sent: db.execute(
            f"UPDATE group_sends SET status = ?{', confirmed_at = ?' if s else ''} WHERE id = ?",
            ["sent", ctx.at.isoformat(), r["id"]] if s else ["unconfirmed", r["id"]]))


JOB = Job("customer_stats", "客户群昨日统计", lambda config: config.schedule.customer_stats, run)
