"""村务公开: a cadre's 公示 posted into the village group and recorded, corrections as new versions, withdrawals;
residents' objections to them are bot/objections.py.

A 公示 has a number residents type ("公示3"). Each event of it (posted, corrected, withdrawn) is one append-only
row of `publicity`, sealed in the audit chain; what it says now is its newest version. Its public period runs
from the day it was posted (or last corrected) to the close of the item's `public_days`-th working day after.
Every function runs inside the caller's write transaction and returns the line the person who acted reads."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlite_utils import Database

from bot import group_kinds, ledger, wording
from bot.config import Village
from bot.context import Context
from bot.inbox import Message
from bot.outbound import Outgoing
from bot.power_list import PowerItem, named_period

HEADER = "【村务公开·公示{number}】"
MEDIA_NAMES = {"image": "图片", "file": "文件", "video": "视频"}
UNSEEN = "小微不能转发图片和文件：请把{what}直接发到群里，群众才看得到。"

@dataclass(frozen=True)
class Notice:
    """A 公示 as it stands: its newest version."""
    number: int
    version: int
    action: str
    town: str
    village: str
    item: str
    period: str
    title: str
    body: str
    posted_on: date
    ends_on: date
    actor: str
    at: datetime
    first_posted_on: date

    @property
    def withdrawn(self) -> bool:
        return self.action == "withdrawn"

    def open_on(self, day: date) -> bool:
        """Residents may object today: posted, not withdrawn, and the period not yet over."""
        return not self.withdrawn and self.posted_on <= day <= self.ends_on


_LATEST = ("SELECT p.*, (SELECT f.posted_on FROM publicity f WHERE f.number = p.number AND f.version = 1) AS first "
           "FROM publicity p WHERE p.version = (SELECT MAX(q.version) FROM publicity q WHERE q.number = p.number)")


def _notice(row: dict) -> Notice:
    return Notice(number=row["number"], version=row["version"], action=row["action"], town=row["town"],
                  village=row["village"], item=row["item"], period=row["period"], title=row["title"],
                  body=row["body"], posted_on=date.fromisoformat(row["posted_on"]),
                  ends_on=date.fromisoformat(row["ends_on"]), actor=row["actor"],
                  at=datetime.fromisoformat(row["at"]), first_posted_on=date.fromisoformat(row["first"]))


def notices(db: Database, where: str = "", args: list | None = None) -> list[Notice]:
    return [_notice(r) for r in db.query(_LATEST + (f" AND {where}" if where else "") + " ORDER BY p.number",
                                         args or [])]


def get(db: Database, number: int) -> Notice | None:
    found = notices(db, "p.number = ?", [number])
    return found[0] if found else None


def current(db: Database, village: str, day: date) -> list[Notice]:
    return [n for n in notices(db, "p.village = ?", [village]) if n.open_on(day)]


def objections(db: Database, number: int) -> int:
    """How many objections (异议) a 公示 has drawn: shown on it wherever it is listed. One a cadre relabelled 举报
    is a clue now, and nothing about a clue reaches a group, not even that it is counted."""
    return db.execute("SELECT COUNT(*) FROM publicity_links l JOIN case_state s ON s.case_id = l.case_id "
                      "WHERE l.number = ? AND l.kind = 'objection' AND s.kind != 'report'", [number]).fetchone()[0]


# --- posting, correcting, withdrawing ----------------------------------------------------------------------

def _record(db: Database, ctx: Context, *, number: int, version: int, action: str, village: Village, item: str,
            period: str, title: str, body: str, posted_on: date, ends_on: date, actor: str, msg: Message | None,
            note: str = "") -> None:
    cursor = db.execute(
        "INSERT INTO publicity (number, version, action, town, village, item, period, title, body, media, posted_on, "
        "ends_on, actor, at, message_id, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [number, version, action, village.town, village.name, item, period, title, body,
         (msg.media or None) if msg else None, posted_on.isoformat(), ends_on.isoformat(), actor, ctx.now.isoformat(),
         msg.id if msg and msg.id else None, note])
    ledger.add(db, "publicity", cursor.lastrowid)


def _next_number(db: Database) -> int:
    return db.execute("INSERT INTO counters (name, value) VALUES ('publicity', 1) "
                      "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value").fetchone()[0]


def post(db: Database, out: Outgoing, ctx: Context, msg: Message, village: Village, item: PowerItem, title: str,
         body: str) -> str:
    day = first_seen(ctx, village)
    period = named_period(item, title, ctx.now.date()).key if item.scheduled else ""
    number = _next_number(db)
    ends = ctx.calendar.add_workdays(day, item.public_days)
    _record(db, ctx, number=number, version=1, action="posted", village=village, item=item.name, period=period,
            title=title, body=body, posted_on=day, ends_on=ends, actor=msg.sender, msg=msg)
    notice = get(db, number)
    where = announce(out, ctx, village, notice, item, msg=msg)
    return f"已发布公示{number}（{item.name}），公示期至{wording.day(ends)}。{where}" + _unseen(msg, village)


def correct(db: Database, out: Outgoing, ctx: Context, msg: Message, notice: Notice, item: PowerItem, title: str,
            body: str) -> str:
    """A correction is a new version; the old one stays on record. The public period starts again."""
    village = ctx.config.village_by_name(notice.village)
    day = first_seen(ctx, village)
    ends = ctx.calendar.add_workdays(day, item.public_days)
    _record(db, ctx, number=notice.number, version=notice.version + 1, action="corrected", village=village,
            item=notice.item, period=notice.period, title=title or notice.title, body=body, posted_on=day,
            ends_on=ends, actor=msg.sender, msg=msg)
    where = announce(out, ctx, village, get(db, notice.number), item, corrected=True, msg=msg)
    return f"公示{notice.number}已更正（第{notice.version + 1}版），公示期重新计算至{wording.day(ends)}。{where}" \
        + _unseen(msg, village)


def withdraw(db: Database, out: Outgoing, ctx: Context, msg: Message, notice: Notice, note: str) -> str:
    village = ctx.config.village_by_name(notice.village)
    _record(db, ctx, number=notice.number, version=notice.version + 1, action="withdrawn", village=village,
            item=notice.item, period=notice.period, title=notice.title, body=notice.body,
            posted_on=notice.posted_on, ends_on=ctx.now.date(), actor=msg.sender, msg=msg, note=note)
    _to_group(out, ctx, village, f"【撤回·公示{notice.number}】{notice.item}：{notice.title}\n已撤回。原因：{note}")
    return f"公示{notice.number}已撤回，原因已告知群众。"


def compose(notice: Notice, item: PowerItem, corrected: bool = False, attached: str = "", attached_by: str = "",
            ask: str = "在群里@小微 ") -> str:
    head = ("【更正·" + HEADER[1:] if corrected else HEADER).format(number=notice.number)
    lines = [f"{head}{item.name}（{item.category}）", notice.title]
    if notice.body:
        lines.append(notice.body)
    if attached:
        lines.append(f"（附{MEDIA_NAMES.get(attached, '附件')}，见{attached_by}在群里发的原消息）")
    if corrected:
        lines.append("以本次更正为准，原公示同时作废。")
    if item.before_decision:
        lines.append("这是事前公示：公示期满、群众没有异议后才能实施。")
    lines.append(f"公示期：{wording.day(notice.posted_on)}至{wording.day(notice.ends_on)}。"
                 f"有异议请{ask}说“公示{notice.number} 您的意见”，或私聊小微，会登记编号，10个工作日内答复。")
    return "\n".join(lines)


def announce(out: Outgoing, ctx: Context, village: Village, notice: Notice, item: PowerItem,
             corrected: bool = False, msg: Message | None = None) -> str:
    """The 公示 into the group. A picture or file the cadre sent with it in the group is pointed at (the bot
    cannot forward what WeCom hands it encrypted); one sent privately is not seen by the group (see _unseen)."""
    in_group = msg is not None and msg.media and msg.in_group and msg.village == village
    poster = ctx.roles.person(msg.sender) if in_group else None
    return _to_group(out, ctx, village, compose(notice, item, corrected, msg.media if in_group else "",
                                                poster.display if poster else "干部",
                                                group_kinds.ask_here(village)))


def _unseen(msg: Message, village: Village) -> str:
    if msg.media and not (msg.in_group and msg.village == village):
        return UNSEEN.format(what=MEDIA_NAMES.get(msg.media, "附件"))
    return ""


def first_seen(ctx: Context, village: Village) -> date:
    """The day residents first see a 公示 posted now: today, or for a customer group the day of the next group
    send (after this morning's has gone, tomorrow's). The public period counts from that day."""
    now = ctx.now
    if village.group != "customer" or now.time() < ctx.config.schedule.group_send:
        return now.date()
    return now.date() + timedelta(days=1)


def _to_group(out: Outgoing, ctx: Context, village: Village, text: str) -> str:
    """Into the group the way its kind allows; returns what the cadre should know about when residents see it."""
    if village.group != "customer":
        out.group(village, text)
        return ""
    # A customer group takes a post only in the owner-confirmed group send: the next one that has not gone yet.
    day = first_seen(ctx, village)
    out.group(village, text, post="morning", day=day)
    return f"客户群要群主确认群发：已排入{wording.day(day)}的群发，群主确认后群众可见。"


# --- what residents and cadres read -------------------------------------------------------------------------

def listing(db: Database, ctx: Context, village: Village) -> str:
    day = ctx.now.date()
    live = current(db, village.name, day)
    if not live:
        return f"{village.name}现在没有正在公示的事项。"
    lines = [f"{village.name}正在公示："]
    for n in live:
        counted = objections(db, n.number)
        lines.append(f"· 公示{n.number} {n.item}：{wording.snippet(n.title, 24)}（至{wording.day(n.ends_on)}"
                     + (f"，异议{counted}件" if counted else "") + "）")
    lines.append("有异议请说“公示编号 您的意见”，例如“公示" + str(live[0].number) + " 这笔开支不清楚”。")
    return "\n".join(lines)
