"""Trends for the inspectors (大数据梳理问题): topics that recur across villages and weeks (jieba keywords with a
stop list; the requests of one topic grouped), the villages and residents with repeated unsatisfied or overdue
requests (a visit list for 入户走访), week-on-week change, the digest's window (since the last working day's
digest: Monday's covers the weekend, the first after a holiday the holiday) and the numbers behind its counts.
Clues are never among the topics or the visit list: a topic word must not carry a report's words."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Iterable

from sqlite_utils import Database

from bot import cases
from bot.cases import REQUEST_KINDS, Case
from bot.casework import pressing
from bot.clock import TZ, local
from bot.config import Town
from bot.workdays import WorkCalendar

WEEK = timedelta(days=7)
STOPWORDS = frozenset("""我们 你们 他们 大家 自己 这个 那个 这些 那些 什么 怎么 怎样 为什么 时候 问题 事情 情况 东西 地方 一下 现在
今天 昨天 明天 今年 去年 时间 村里 群里 小微 干部 村委 村委会 谢谢 麻烦 请问 您好 师傅 老人 人家 家里 早上 晚上 中午 下午 上午
事儿 部门 办法 回复 消息 编号 满意 进展 结果 好几天 有人 没人 派人 一个 多久 几天 附近 那边 这边 我家 门口""".split())
KEYWORD_FLAGS = ("n", "ns", "nz", "vn", "nt", "an")   # nouns and noun-like verbs; never nr (people's names)


def _pos_tokenizer():
    from bot.classifier import pos_tokenizer
    return pos_tokenizer()


def keywords(text: str) -> set[str]:
    return {p.word for p in _pos_tokenizer().cut(text)
            if len(p.word) >= 2 and p.flag in KEYWORD_FLAGS and p.word not in STOPWORDS}


def week_of(moment: datetime) -> str:
    year, week, _ = local(moment).isocalendar()
    return f"{year}-W{week:02d}"


# --- recurring topics ----------------------------------------------------------------------------------

@dataclass
class Topic:
    word: str
    numbers: list[str] = field(default_factory=list)      # the requests of this topic, oldest first
    villages: set[str] = field(default_factory=set)
    weeks: set[str] = field(default_factory=set)

    @property
    def recurring(self) -> bool:
        """Felt in more than one village, or coming back week after week."""
        return len(self.numbers) >= 2 and (len(self.villages) >= 2 or len(self.weeks) >= 2)


def recurring_topics(db: Database, since: datetime, until: datetime, *, town: str | None = None,
                     top: int = 10, villages: Iterable[str] | None = None) -> list[Topic]:
    """Topics of the requests received in [since, until) that recur across villages or weeks, the most
    widespread first; each request counts once per topic. `villages`: only these villages' requests (a link
    leader's own)."""
    found: dict[str, Topic] = {}
    wanted = set(villages) if villages is not None else None
    for case in _requests(db, since, until, town):
        if wanted is not None and case.village not in wanted:
            continue
        for word in keywords(case.text):
            topic = found.setdefault(word, Topic(word))
            topic.numbers.append(case.number)
            topic.villages.add(case.village)
            topic.weeks.add(week_of(case.received_at))
    ranked = sorted((t for t in found.values() if t.recurring),
                    key=lambda t: (-len(t.villages), -len(t.numbers), -len(t.weeks), t.word))
    return ranked[:top]


def _requests(db: Database, since: datetime, until: datetime, town: str | None) -> Iterable[Case]:
    for case in cases.find(db, town=town, since=since, stream=True):
        if case.received_at < until and case.kind in REQUEST_KINDS and case.status != "dismissed":
            yield case


# --- the visit list ------------------------------------------------------------------------------------

@dataclass
class Visit:
    """A village, or a resident of it, with repeated unsatisfied or overdue requests: worth a visit."""
    village: str
    requester: str | None = None       # platform id (inspectors only); None for the village as a whole
    name: str = ""                     # the resident's group nickname, when known
    unsatisfied: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(set(self.unsatisfied) | set(self.overdue))


def visit_list(db: Database, now: datetime, since: datetime, *, town: str | None = None,
               resident_at: int = 2, village_at: int = 3) -> list[Visit]:
    """Residents with `resident_at` or more, villages with `village_at` or more requests (received since
    `since`) that were rated unsatisfied, reopened, answered late or are overdue now; the most first."""
    reopened = {r[0] for r in db.execute("SELECT DISTINCT case_id FROM events WHERE action = 'reopened'")}
    residents: dict[tuple[str, str], Visit] = {}
    villages: dict[str, Visit] = {}
    for case in _requests(db, since, now, town):
        unhappy = case.rating == "不满意" or case.id in reopened
        late = case.overdue(now) or bool(case.answered_at and case.answered_at > case.due_at)
        if not (unhappy or late):
            continue
        for visit in (residents.setdefault((case.village, case.requester), Visit(case.village, case.requester)),
                      villages.setdefault(case.village, Visit(case.village))):
            (visit.unsatisfied if unhappy else visit.overdue).append(case.number)
    names = _nicknames(db, [r for _, r in residents])
    chosen = [v for v in villages.values() if v.count >= village_at] + \
        [v for v in residents.values() if v.count >= resident_at]
    for visit in chosen:
        visit.name = names.get(visit.requester or "", "")
    return sorted(chosen, key=lambda v: (-v.count, v.requester is not None, v.village))


def _nicknames(db: Database, userids: list[str]) -> dict[str, str]:
    rows = db.execute("SELECT sender, sender_name FROM messages WHERE sender IN (SELECT value FROM json_each(?)) "
                      "AND sender_name IS NOT NULL AND sender_name != '' ORDER BY id", [json.dumps(userids)])
    return {sender: name for sender, name in rows}


# --- week on week ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WeekOnWeek:
    this_week: Counter
    last_week: Counter

    @property
    def change(self) -> int:
        return sum(self.this_week.values()) - sum(self.last_week.values())

    @property
    def ratio(self) -> float | None:
        before = sum(self.last_week.values())
        return self.change / before if before else None


def week_on_week(db: Database, at: datetime, *, town: str | None = None) -> dict[str, WeekOnWeek]:
    """Requests received by kind in the 7 days before `at` and the 7 before those, per village."""
    now: dict[str, Counter] = defaultdict(Counter)
    before: dict[str, Counter] = defaultdict(Counter)
    for case in _requests(db, at - 2 * WEEK, at, town):
        (now if case.received_at >= at - WEEK else before)[case.village][case.kind] += 1
    return {v: WeekOnWeek(now[v], before[v]) for v in now.keys() | before.keys()}


# --- the digest's window and the numbers behind its counts ---------------------------------------------

def last_workday_before(calendar: WorkCalendar, day: date) -> date:
    previous = day - timedelta(days=1)
    for _ in range(60):      # the longest holiday is far shorter; a bound keeps a broken table from looping
        if calendar.is_workday(previous):
            return previous
        previous -= timedelta(days=1)
    return day - timedelta(days=1)


def digest_window(calendar: WorkCalendar, at: datetime, digest_time: time) -> datetime:
    """Where today's digest starts: the previous working day's digest (Monday's covers the weekend; the first
    working day after a holiday covers the holiday)."""
    return datetime.combine(last_workday_before(calendar, local(at).date()), digest_time, TZ)


@dataclass(frozen=True)
class DigestNumbers:
    """The case numbers behind the digest's counts. Clue numbers are for the inspectors' private copy only."""
    overdue: list[str]
    unsatisfied: list[str]
    open_clues: list[str]
    overdue_clues: list[str]
    week: WeekOnWeek


def digest_numbers(db: Database, towns: Iterable[Town], at: datetime, calendar: WorkCalendar) -> dict[str, DigestNumbers]:
    """On the same footing as the digest's counts: overdue among the active requests, unsatisfied among those
    answered in the last 7 days; clues open (not yet 办结) and overdue (not registered within their limit).
    One pass over the county per count, however many towns; keyed by town name."""
    names = [t.name for t in towns]
    overdue: dict[str, list[str]] = {n: [] for n in names}
    open_clues: dict[str, list[str]] = {n: [] for n in names}
    overdue_clues: dict[str, list[str]] = {n: [] for n in names}
    unsatisfied: dict[str, list[str]] = {n: [] for n in names}
    this: dict[str, Counter] = {n: Counter() for n in names}
    before: dict[str, Counter] = {n: Counter() for n in names}
    for case in cases.active_or_recent(db, at - 2 * WEEK, at - WEEK):
        if case.town not in overdue:
            continue
        if case.kind in REQUEST_KINDS and case.status != "dismissed" and at - 2 * WEEK <= case.received_at < at:
            (this if case.received_at >= at - WEEK else before)[case.town][case.kind] += 1
        if case.status in cases.DONE and case.answered_at and case.answered_at >= at - WEEK:
            if case.rating == "不满意" and not case.confidential:
                unsatisfied[case.town].append(case.number)
            continue
        if not case.active:
            continue
        if case.confidential:
            open_clues[case.town].append(case.number)
            if case.stage is None and at > case.due_at:
                overdue_clues[case.town].append(case.number)
            continue
        p = pressing(case, calendar, at)
        if p and p.overdue_days:
            overdue[case.town].append(case.number)
    return {n: DigestNumbers(overdue[n], unsatisfied[n], open_clues[n], overdue_clues[n],
                             WeekOnWeek(this[n], before[n])) for n in names}
