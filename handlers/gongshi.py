"""村务公开 in the group: a cadre's 公示 (公示 事项 标题, the text on the lines below), its correction and withdrawal;
anyone's `@小微 公示` (what is on show now); and a resident's objection (异议) to a 公示 — by its number, a quote
of it, or its content — which becomes a disclosure case linked to it. Misconduct reported about a 公示 is still a
report: the report handler runs before the objection handler."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot import inbox, objections, publicity, publicity_due, wording
from bot.cases import REQUEST_KINDS
from bot.context import MessageContext
from bot.inbox import Message
from handlers import requests

POST = re.compile(r"^公示\s+(\S+)[ \t]*([^\n]*)\n?(.*)$", re.S)
CHANGE = re.compile(r"^(更正公示|撤回公示)\s*(\d{1,6})?\s*(.*)$", re.S)
DOUBT = re.compile(r"不对|不符|有问题|异议|意见|不清楚|不明白|不合理|不公平|不同意|质疑|凭什么|为什么|为啥|怎么|多少|"
                   r"哪|谁|明细|核实|[?？]")
LIST = {"公示", "公示清单", "村务公开", "查看公示"}
POST_USAGE = "用法：公示 事项 标题，换行写公示内容。例如：\n公示 财务收支 2026年11月财务收支\n收入……支出……"
CHANGE_USAGE = {"更正公示": "用法：更正公示 编号 更正后的内容（第一行可写新标题）", "撤回公示": "用法：撤回公示 编号 原因"}


@dataclass(frozen=True)
class Post:
    item: str
    title: str
    body: str


@dataclass(frozen=True)
class Change:
    verb: str
    number: int | None
    note: str


def match(msg: Message, ctx: MessageContext) -> Post | Change | str | None:
    """Cadres' 公示 commands, and anyone asking the bot what is on show."""
    words = msg.words
    if words in LIST and (msg.mentions_bot or not msg.in_group):
        return "list"
    if not ctx.roles.is_staff(msg.sender):
        return None
    found = CHANGE.match(words)
    if found:
        return Change(found[1], int(found[2]) if found[2] else None, found[3].strip())
    found = POST.match(words)
    if found and not found[1].isdigit():       # "公示3 …" is someone pointing at a 公示, not posting one
        return Post(found[1], found[2].strip(), found[3].strip())
    return None


async def act(msg: Message, found: Post | Change | str, ctx: MessageContext) -> None:
    village = msg.village or ctx.roles.home_village(msg.sender)

    def rule(db, out) -> str:
        if found == "list":
            if village is None:
                return "请在您所在村（社区）的群里问，我会列出正在公示的事项。"
            return publicity.listing(db, ctx, village) + _owed(db, ctx, village, msg.sender)
        if village is None or village.cadre(msg.sender) is None:
            return "只有本村干部可以发布、更正或撤回公示。"
        if isinstance(found, Post):
            return _post(db, out, found, village)
        return _change(db, out, found, village)

    def _post(db, out, post: Post, village) -> str:
        item = ctx.config.power_list.find(post.item)
        if item is None:
            names = "、".join(i.name for i in ctx.config.power_list.items)
            return f"小微权力清单里没有“{post.item}”这一项（或不止一项以它开头）。可以公示的有：{names}。"
        if not post.title:
            return POST_USAGE
        return publicity.post(db, out, ctx, msg, village, item, post.title, post.body)

    def _change(db, out, change: Change, village) -> str:
        if change.number is None or not change.note:
            return CHANGE_USAGE[change.verb]
        notice = publicity.get(db, change.number)
        if notice is None or notice.village != village.name:
            return f"{village.name}没有公示{change.number}。"
        if notice.withdrawn:
            return f"公示{notice.number}已撤回，不能再{change.verb[:2]}。"
        if change.verb == "撤回公示":
            return publicity.withdraw(db, out, ctx, msg, notice, change.note)
        title, _, body = change.note.partition("\n")
        item = ctx.config.power_list.find(notice.item)
        if item is None:
            return f"事项“{notice.item}”已不在小微权力清单里，请撤回后重新发布。"
        return publicity.correct(db, out, ctx, msg, notice, item, title.strip() if body else "",
                                 body.strip() if body else change.note)
    await ctx.answer(rule)


def _owed(db, ctx: MessageContext, village, userid: str) -> str:
    """For the village's cadres: what the list says is due soon or late."""
    if village.cadre(userid) is None:
        return ""
    owed = publicity_due.obligations(db, ctx.config.power_list, ctx.calendar, [village.name], ctx.now.date())
    late = [o for o in owed[village.name] if o.overdue_days(ctx.calendar, ctx.now.date())]
    soon = [o for o in owed[village.name] if o.reminding(ctx.calendar, ctx.now.date())]
    lines = [f"\n已超期未公开：{o.label()}，应在{wording.day(o.due)}前" for o in late[:5]]
    lines += [f"\n即将到期：{o.label()}，请在{wording.day(o.due)}前公示" for o in soon[:5]]
    return "".join(lines)


# --- objections --------------------------------------------------------------------------------------------

def match_objection(msg: Message, ctx: MessageContext) -> str | None:
    """A resident's message that may be about a 公示: it names or quotes one ("pointer"), or it is a request that
    talks about publishing or names an item of the power list ("content"; the database decides in `act`)."""
    if ctx.roles.is_staff(msg.sender) or not msg.words:
        return None
    if msg.in_group and not msg.mentions_bot and ctx.reading.label not in REQUEST_KINDS:
        return None      # overheard chatter that happens to say 公示 is not asked of anyone
    if objections.pointed_at(msg) is not None:
        # "谢谢，公示3看到了" names it but objects to nothing: only a request or words of doubt are an objection.
        return "pointer" if ctx.reading.label in REQUEST_KINDS or DOUBT.search(msg.words) else None
    if ctx.reading.label in REQUEST_KINDS and ("公示" in msg.words or "公开" in msg.words
                                               or objections.missing_item(ctx, msg.words)):
        return "content"
    return None


async def act_objection(msg: Message, how: str, ctx: MessageContext) -> None:
    # Decided inside the message's own transaction: the 公示 it is about is read there (seeing what the messages
    # before it wrote) rather than in a read of its own, which had to wait for the message before to be done.
    confidence, intake = ctx.reading.confidence, requests.match(msg, ctx)
    item = objections.missing_item(ctx, msg.words) if intake is not None and intake.kind == "disclosure" else None

    def tx(db, out):
        home = msg.village.name if msg.village else inbox.last_village(db, msg.sender)
        notice = _about(db, msg, home, msg.received_at.date())
        if notice is not None:
            village = ctx.config.village_by_name(notice.village)
            return _linked(requests.take_in(replace(msg, village=village),
                                            requests.Intake("disclosure", confidence, True), ctx), ctx, notice)(db, out)
        if how == "pointer":
            return out.reply(msg, f"没有找到公示{objections.pointed_at(msg)}。发“@小微 公示”可以看本村正在公示的事项；"
                                  "有问题也可以直接说明，会登记办理。")
        if intake is not None:
            _linked(requests.take_in(msg, intake, ctx), ctx, None, item.name if item else None)(db, out)
    await ctx.commit(tx, key=f"m{msg.id}")


def _about(db, msg: Message, village: str | None, day):
    number = objections.pointed_at(msg)
    if village is None and number is not None:      # a private message naming a 公示: its own village
        found = publicity.get(db, number)
        village = found.village if found else None
    return objections.about(db, msg, village, day) if village else None


def _linked(fn, ctx: MessageContext, notice, missing: str | None = None):
    """The rule, also linking the case the message opened, in the same transaction."""
    def tx(db, out):
        result = fn(db, out)
        case = objections.opened_by(db, ctx.message.id)
        if case is not None and notice is not None:
            objections.objected(db, out, ctx, case, notice)
        elif case is not None and missing:
            objections.link(db, ctx, case, item=missing, number=None, kind="missing")
        return result
    return tx
