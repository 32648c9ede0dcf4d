"""Objections (异议) to a 公示: a resident's message that names it ("公示3"), quotes it or talks about what it says
becomes a disclosure case (10 working days) linked to it and counted on it; a complaint that an item was never
published is linked to that item. Runs inside the caller's write transaction, like bot/publicity.py."""
from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from sqlite_utils import Database

from bot import cases, wording
from bot.context import Context
from bot.inbox import Message
from bot.outbound import Outgoing
from bot.power_list import PowerItem
from bot.publicity import Notice, current, get, objections

HEADED = re.compile(r"【(?:更正·)?村务公开·公示(\d{1,6})】")
NUMBERED = re.compile(r"公示\s*第?\s*(\d{1,6})\s*号?")
STOP = frozenset("我们 你们 他们 大家 这个 那个 什么 怎么 为什么 问题 情况 公示 公开 村里 群里 小微 干部 一下 请问 是不是 有没有 "
                 "今年 去年 这次 上面 里面".split())


def pointed_at(msg: Message) -> int | None:
    """The 公示 number a message names ("公示3", "公示第3号") or quotes (the header of the bot's own post)."""
    # A WeChat-style quote sits in the text itself; the AI bot's own `quote` field reaches Message once the
    # quote-keeping change lands (it is read here when present).
    quoted = getattr(msg, "quote", "") or ""
    for text in (quoted, msg.text):
        found = HEADED.search(text)
        if found:
            return int(found[1])
    found = NUMBERED.search(msg.words)
    return int(found[1]) if found else None


def about(db: Database, msg: Message, village: str, day: date) -> Notice | None:
    """The current 公示 of the village the message is about: by number or quote, else by strong overlap of its
    words with a 公示's item, title and text (two meaningful words in common, or the item or title named)."""
    number = pointed_at(msg)
    if number is not None:
        found = get(db, number)
        return found if found and found.village == village else None
    best, score, mine = None, 0, None
    for notice in current(db, village, day):
        if notice.item in msg.words or (len(notice.title) >= 4 and notice.title in msg.words):
            return notice
        if mine is None:    # cut into words only when a 公示 is on show: most days none is
            mine = _words(msg.words)
        shared = len(mine & _words(f"{notice.title} {notice.body}"))
        if shared > score:
            best, score = notice, shared
    return best if score >= 2 else None


def missing_item(ctx: Context, text: str) -> PowerItem | None:
    """The power list item a complaint names (by name or keyword), for a complaint that it was not published."""
    for item in ctx.config.power_list.items:
        if item.name in text or any(k in text for k in item.keywords):
            return item
    return None


def link(db: Database, ctx: Context, case: cases.Case, *, item: str, number: int | None, kind: str) -> None:
    """Tie a disclosure case to the item (and the 公示) it is about: an event in the case's chain, and the index."""
    note = f"公示{number}（{item}）" if number else f"{item}（未公开）"
    cases.append(db, case.id, actor="小微", action="linked", now=ctx.now, note=note, item=item, publicity=number,
                 link=kind)
    db.execute("INSERT OR IGNORE INTO publicity_links (case_id, village, item, number, kind, at) VALUES "
               "(?, ?, ?, ?, ?, ?)", [case.id, case.village, item, number, kind, ctx.now.isoformat()])


def opened_by(db: Database, message_id: int) -> cases.Case | None:
    return cases.by_message(db, message_id) if message_id else None


def objected(db: Database, out: Outgoing, ctx: Context, case: cases.Case, notice: Notice) -> None:
    """A disclosure case just opened about a 公示. During its public period it is an objection: linked, counted on
    the 公示, and the cadre who posted it and the party secretary hear of it privately. After the period it is a
    plain complaint about that 公示, linked all the same."""
    if case.confidential or db.execute("SELECT 1 FROM publicity_links WHERE case_id = ?", [case.id]).fetchone():
        return
    live = notice.open_on(case.received_at.date())
    link(db, ctx, case, item=notice.item, number=notice.number, kind="objection" if live else "complaint")
    if not live:
        return
    village = ctx.config.village_by_name(notice.village)
    told = [notice.actor] + ([village.secretary.userid] if village and village.secretary else [])
    out.members(told, f"【公示异议 {case.number}】{notice.village}·公示{notice.number}（{notice.item}）"
                      f"收到第{objections(db, notice.number)}件异议：{wording.snippet(case.text, 80)}\n"
                      f"请在{wording.day(case.due_at)}前核实答复；需要更正请发“更正公示 {notice.number} 更正后的内容”。")


def _words(text: str) -> set[str]:
    return {w for w in _tokenizer().lcut(text) if len(w) >= 2 and w not in STOP and not w.isdigit()}


@lru_cache(maxsize=1)
def _tokenizer():
    from bot.classifier import tokenizer
    return tokenizer()
