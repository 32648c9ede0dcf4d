"""The numbers behind the 巡群日报: per-village counts over the last day, response and satisfaction over the last
week, silent groups, and the day's recurring topics (jieba nouns that come up in more than one message)."""
from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable

from sqlite_utils import Database

from bot import cases
from bot.cases import Case
from bot.config import Town
from bot.roles import Roles
from bot.workdays import Counted, WorkCalendar
from bot.casework import pressing

DAY, WEEK = timedelta(days=1), timedelta(days=7)
STOPWORDS = frozenset("""我们 你们 他们 大家 自己 这个 那个 这些 那些 什么 怎么 怎样 为什么 时候 问题 事情 情况 东西 地方 一下 现在
今天 昨天 明天 今年 去年 时间 村里 群里 小微 干部 村委 村委会 谢谢 麻烦 请问 您好 师傅 老人 人家 家里 早上 晚上 中午 下午 上午
事儿 部门 办法 回复 消息 编号 满意 进展 结果""".split())
TOPIC_FLAGS = ("n", "ns", "nz", "vn", "nt", "an")   # nouns and noun-like verbs; never nr (people's names)


@dataclass
class VillageStats:
    name: str
    received: Counter = field(default_factory=Counter)
    answered: int = 0
    open: int = 0
    due_soon: int = 0
    overdue: int = 0
    unanswered: int = 0
    satisfied: int = 0
    rated: int = 0
    waits: list[timedelta] = field(default_factory=list)   # first responses over the last week
    silent: bool = False

    @property
    def response(self) -> timedelta | None:
        return statistics.median(self.waits) if self.waits else None

    @property
    def concern(self) -> tuple[int, int, int, int]:
        """How urgently an inspector should look: overdue first, then ignored, then soon due, then silent."""
        return self.overdue, self.unanswered, self.due_soon, int(self.silent)


@dataclass
class TownStats:
    villages: list[VillageStats]
    clues: list[Case]
    topics: list[tuple[str, int]]
    sees_all_traffic: bool


def gather(db: Database, town: Town, at: datetime, calendar: WorkCalendar, roles: Roles,
           unanswered_hours: int, sees_all_traffic: bool) -> TownStats:
    return gather_all(db, [town], at, calendar, roles, unanswered_hours, sees_all_traffic)[town.name]


def gather_all(db: Database, towns: Iterable[Town], at: datetime, calendar: WorkCalendar, roles: Roles,
               unanswered_hours: int, sees_all_traffic: bool, window: timedelta = DAY) -> dict[str, TownStats]:
    """Every town's numbers from one pass over the county per count (the active cases are streamed, never all
    in memory), instead of a query per town over the whole county; keyed by town name. `window`: how far back
    the day's counts reach (since the last working day's digest: over a weekend, three days)."""
    towns = list(towns)
    stats = {v.name: VillageStats(v.name) for t in towns for v in t.villages}
    wanted = {t.name for t in towns}
    # Only the last week's intake and answers: the morning job must not read the county's whole history.
    for c in cases.find(db, since=min(at - WEEK, at - window), stream=True):
        s = stats.get(c.village)
        if s is None or c.town not in wanted:
            continue
        if at - window <= c.received_at < at and c.kind in cases.REQUEST_KINDS and c.status != "dismissed":
            s.received[c.kind] += 1
        if c.first_response_at and c.received_at < at:
            s.waits.append(c.first_response_at - c.received_at)
    for c in cases.find(db, statuses=("answered", "closed"), answered_since=min(at - WEEK, at - window), stream=True):
        s = stats.get(c.village)
        if s is None or c.town not in wanted:
            continue
        s.answered += c.answered_at >= at - window
        s.rated += c.rating is not None
        s.satisfied += c.rating == "满意"
    quiet_since = at - timedelta(hours=unanswered_hours)
    calendar = Counted(calendar)
    for c in cases.active(db):
        s = stats.get(c.village)
        if s is None or c.confidential or c.town not in wanted:
            continue
        s.open += 1
        p = pressing(c, calendar, at)
        s.overdue += bool(p and p.overdue_days)
        s.due_soon += bool(p and not p.overdue_days)
        s.unanswered += c.first_response_at is None and c.received_at <= quiet_since
    if sees_all_traffic:
        busy = {r[0] for r in db.execute("SELECT DISTINCT village FROM messages WHERE received_at >= ? "
                                         "AND received_at < ?", [(at - WEEK).isoformat(), at.isoformat()])}
        for name, s in stats.items():
            s.silent = name not in busy
    clues: dict[str, list[Case]] = {t.name: [] for t in towns}
    for c in cases.find(db, confidential=True, since=at - window):
        if c.received_at < at and c.town in clues:
            clues[c.town].append(c)
    reports = _reports(db, at, window)
    return {t.name: TownStats([stats[v.name] for v in t.villages], clues[t.name],
                              topics(_texts(db, t, at, roles, reports, window)), sees_all_traffic) for t in towns}


def _texts(db: Database, town: Town, at: datetime, roles: Roles, reports: set[int],
           window: timedelta = DAY) -> list[str]:
    names = [v.name for v in town.villages]
    # Residents' group messages of the day; reports are left out so no clue leaks through a topic word.
    rows = db.execute(
        f"SELECT m.id, m.text, m.sender FROM messages m WHERE m.chattype = 'group' "
        f"AND m.village IN ({', '.join('?' * len(names))}) AND m.received_at >= ? AND m.received_at < ?",
        [*names, (at - window).isoformat(), at.isoformat()])
    return [text for message_id, text, sender in rows if message_id not in reports and not roles.is_staff(sender)]


def _reports(db: Database, at: datetime, window: timedelta = DAY) -> set[int]:
    """The messages of the day that are (or were re-labelled as) reports: one look for the county. A case keeps
    its message's receipt time, so the day's cases are the day's messages' cases."""
    return {r[0] for r in db.execute(
        "SELECT c.message_id FROM cases c JOIN case_state s ON s.case_id = c.id WHERE c.received_at >= ? "
        "AND c.received_at < ? AND s.kind = 'report' AND c.message_id IS NOT NULL",
        [(at - window).isoformat(), at.isoformat()])}


def _pos_tokenizer():
    from bot.classifier import pos_tokenizer
    return pos_tokenizer()


def topics(texts: list[str], top: int = 6) -> list[tuple[str, int]]:
    """Words found in at least two messages, most frequent first: what keeps coming up today."""
    if not texts:
        return []
    seen: Counter = Counter()
    for text in texts:
        seen.update({p.word for p in _pos_tokenizer().cut(text)
                     if len(p.word) >= 2 and p.flag in TOPIC_FLAGS and p.word not in STOPWORDS})
    return [(w, n) for w, n in seen.most_common(top * 3) if n >= 2][:top]
