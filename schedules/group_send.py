"""Customer groups (客户群) take no post without their owner's tap. So the morning's posts — the duty notice, the
day's positive item — and a short account of yesterday's requests go as ONE group send per group and day
(externalcontact/add_msg_template), which the owner confirms in the WeCom client; a later check follows it up,
reminds the owner (remind_groupmsg_send) and tells him privately when it is still not sent by mid-morning."""
from __future__ import annotations

from datetime import timedelta

from sqlite_utils import Database

from bot import cases, wording
from bot.channels.customer import group_send_status, remind_group_send
from bot.channels.wecom import WeComError
from bot.config import Village
from bot.context import JobContext
from bot.jobs import Job
from bot.outbound import Outgoing

REMINDER = ("今天的{village}群发（值班公告等）还没有发出。请打开企业微信 → 客户群 → 群发助手，确认发送。"
            "群里的群众要靠它知道今天谁值班。")


def customer_villages(ctx: JobContext) -> list[Village]:
    return [v for v in ctx.config.villages() if v.group == "customer"]


async def run(ctx: JobContext) -> None:
    for village in customer_villages(ctx):
        await ctx.once(village.name, lambda db, out, v=village: send(db, out, ctx, v))


def send(db: Database, out: Outgoing, ctx: JobContext, village: Village) -> None:
    text = compose(db, village, ctx)
    if text:
        out.group_send(village, text)


def compose(db: Database, village: Village, ctx: JobContext) -> str:
    # Only the morning's own posts: the day's drafts are the cadres' to paste (bot/drafts.py).
    posts = [r["text"] for r in db["group_posts"].rows_where("village = ? AND day = ? AND kind = 'morning'",
                                                            [village.name, ctx.day.isoformat()], order_by="id")]
    return "\n\n".join(posts + [yesterday(db, village, ctx)])


def yesterday(db: Database, village: Village, ctx: JobContext) -> str:
    """A short public account: how many requests came in yesterday and how many were answered."""
    start = ctx.at.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    end = start + timedelta(days=1)
    received = [c for c in cases.find(db, village=village.name, since=start) if c.received_at < end
                and c.kind in cases.REQUEST_KINDS]
    answered = [c for c in cases.find(db, village=village.name, statuses=cases.DONE, answered_since=start)
                if c.answered_at and c.answered_at < end]
    if not received and not answered:
        return f"【昨日小结】{wording.day(start)}没有新的诉求。有事请在群里说明，值班干部会及时办理。"
    return (f"【昨日小结】{wording.day(start)}收到诉求 {len(received)} 件，办结 {len(answered)} 件。"
            "办理进度可私聊小微查询。")


async def check(ctx: JobContext) -> None:
    """Mid-morning: a group send the owner has not confirmed is reminded (WeCom's own nudge, and privately)."""
    client = ctx.wecom()
    if client is None:
        return   # a command-line run: the serving instance follows its sends up
    waiting = await ctx.read(lambda db: list(db["group_sends"].rows_where(
        "day = ? AND status = 'waiting' AND msgid IS NOT NULL", [ctx.day.isoformat()])))
    for row in waiting:
        village = ctx.config.village_by_name(row["village"])
        try:
            status = await group_send_status(client, row["msgid"])
            if village.chat_id in status.delivered:
                await ctx.commit(lambda db, out, r=row: _settle(db, r["id"], "sent", ctx))
                continue
            await remind_group_send(client, row["msgid"])
        except WeComError:
            pass   # WeCom's reminder is a nudge; the private one below still goes
        await ctx.once(village.name, lambda db, out, v=village, r=row: _remind(db, out, ctx, v, r["id"]))


def _remind(db: Database, out: Outgoing, ctx: JobContext, village: Village, send_id: int) -> None:
    out.members([village.group_owner], REMINDER.format(village=village.name))
    _settle(db, send_id, "reminded", ctx)


def _settle(db: Database, send_id: int, status: str, ctx: JobContext) -> None:
    column = "confirmed_at" if status == "sent" else "reminded_at"
    db.execute(f"UPDATE group_sends SET status = ?, {column} = ? WHERE id = ?", [status, ctx.at.isoformat(), send_id])


JOB = Job("group_send", "客户群群发", lambda config: config.schedule.group_send, run)
CHECK = Job("group_send_check", "群发确认提醒", lambda config: config.schedule.group_send_check, check)
