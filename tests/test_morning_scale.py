"""The morning jobs' cost does not grow with the county's size in queries or commits: one pass over the cases per
count (not one per village or town), the duty roster read once, a chunk of villages per transaction. Statements
are counted with sqlite3's trace callback on every connection the store opens (writer and readers)."""
from __future__ import annotations

import re
import threading
from dataclasses import replace
from datetime import datetime

import pytest

from bot import cases, storage
from bot.config import Cadre, Config, Person, Village
from tests.conftest import rows
from tests.schedule_helpers import open_case, private, rotation, run_at, started

READS_CASES = re.compile(r"\b(FROM|JOIN)\s+(cases|case_state)\b", re.I)


def county(config: Config, towns: int, per_town: int) -> Config:
    """`towns` towns of `per_town` villages each, every village with its own robot, cadres and link leader."""
    base = config.towns[0]
    made = []
    for t in range(1, towns + 1):
        name = "翠江镇" if t == 1 else f"第{t:02d}镇"
        villages = tuple(
            Village(name=f"{name}{i:02d}村", town=name, chat_id=f"chat-{t}-{i}", webhook_key=f"robot-{t}-{i}",
                    cadres=(Cadre(f"t{t}v{i}-sec", f"书记{t}-{i}", "党支部书记", "13900000000", secretary=True),
                            Cadre(f"t{t}v{i}-duty", f"值班{t}-{i}", "村委委员", "13800000000")),
                    link_leader=Person(f"t{t}v{i}-leader", f"挂包{t}-{i}", "副镇长（挂包）"))
            for i in range(1, per_town + 1))
        inspectors = base.inspectors if t == 1 else (Person(f"t{t}-jw", f"纪委{t}", "镇纪委书记"),)
        made.append(replace(base, name=name, villages=villages, inspectors=inspectors, inspector_webhook_key=""))
    path = config.storage_path.with_name(f"county-{towns}x{per_town}.db")
    return replace(config, towns=tuple(made), storage_path=path)


@pytest.fixture
def traced(monkeypatch):
    """Every SQL statement any store connection runs, in order."""
    seen: list[str] = []
    real = storage.connect

    def connect(*args, **kwargs):
        db = real(*args, **kwargs)
        db.conn.set_trace_callback(seen.append)
        return db
    monkeypatch.setattr(storage, "connect", connect)
    return seen


async def morning(config, clock, traced, job: str, when: str, towns: int, per_town: int) -> tuple[int, int, object]:
    """Run `job` for a county of towns × per_town villages holding the same few cases; returns the statements
    that read cases, the commits, and the bot (stopped by the caller)."""
    config = county(config, towns, per_town)
    bot = await started(config, clock)
    first = config.towns[0].villages[0]
    rotation(bot, first.name, first.cadres[1].userid)
    for day in ("2026-11-20", "2026-11-25", "2026-12-01"):     # overdue, due today-ish, fresh
        open_case(bot, received=f"{day}T10:00+08:00", village=first.name)
    open_case(bot, received="2026-12-01T08:00+08:00", village=first.name, kind="report", text="村干部收了好处费")
    clock.set(when)
    del traced[:]
    commits = bot.store.commits
    await bot.jobs.run(job)
    reads = sum(bool(READS_CASES.search(sql)) for sql in traced)
    commits = bot.store.commits - commits
    await bot.settle()
    return reads, commits, bot


@pytest.mark.parametrize("job, when", [("nags", "2026-12-02T09:30+08:00"), ("digest", "2026-12-02T08:00+08:00"),
                                       ("duty_notice", "2026-12-02T08:00+08:00")])
async def test_a_morning_job_reads_the_cases_as_often_for_40_villages_as_for_4(config, clock, standin, traced,
                                                                               job, when):
    small, small_commits, bot = await morning(config, clock, traced, job, when, towns=2, per_town=2)
    await bot.stop()
    big, big_commits, bot = await morning(config, clock, traced, job, when, towns=20, per_town=2)
    ran = rows(bot, f"SELECT target FROM job_runs WHERE job = '{job}'")
    await bot.stop()
    assert big == small and small <= 8             # the same passes over the cases, however many villages
    assert big_commits <= 3                        # a few transactions for 40 villages, not one each
    assert len(ran) == {"nags": 60, "digest": 20, "duty_notice": 40}[job]   # every target still marked once


async def test_nags_from_one_pass_still_press_the_holder_and_climb_the_ladder(config, clock, standin, traced):
    _, _, bot = await morning(config, clock, traced, "nags", "2026-12-02T09:30+08:00", towns=20, per_town=2)
    first = bot.config.towns[0].villages[0]
    [duty] = private(standin, first.cadres[1].userid)               # today's duty cadre from the bulk roster read
    assert duty.startswith(f"【催办提醒】{first.name}") and "101" in duty and "102" in duty
    [secretary] = private(standin, first.cadres[0].userid)          # 102 is 2 working days overdue: rung 2
    assert "102" in secretary and "101" not in secretary
    ladder, clue = private(standin, "zjw-hu")                       # 101 is 5 working days overdue: the top rung
    assert ladder.startswith(f"【超期预警·纪委】{first.name}") and "101" in ladder and "102" not in ladder
    assert "J2026-001" in clue and "村干部收了好处费" in clue and "J2026-001" not in duty
    await bot.stop()


async def test_the_pass_picks_exactly_the_cases_pressing_picks(config, clock, standin):
    """The morning pass asks SQL for deadlines before the second working day from today instead of building every
    case: the same cases as asking `pressing` of each, over a weekend, a passing-up deadline, a clue, a town's
    case and a deadline written in another offset."""
    from datetime import timedelta, timezone
    from bot.casework import pressing
    from schedules.nags import find_pressing
    bot = await started(config, clock)
    at = datetime.fromisoformat("2026-12-04T09:30+08:00")            # a Friday: the next two working days span a weekend
    first = datetime.fromisoformat("2026-11-27T00:00+08:00")

    def tx(db):
        for n in range(64):                                          # a deadline every 5 hours for 13 days
            due = first + timedelta(hours=5 * n)
            case = cases.open_case(
                db, message_id=None, town="翠江镇", village="城南村", kind="report" if n % 9 == 8 else "help",
                text=f"路灯坏了{n}", requester="resident-1", chat_id=None, received_at=first,
                due_at=due.astimezone(timezone.utc) if n % 5 == 3 else due, now=first)
            state = ({"escalate_by": due + timedelta(days=3)} if n % 7 == 3 else
                     {"level": "town"} if n % 7 == 5 else {"status": "answered"} if n % 11 == 4 else {})
            if state:
                cases.append(db, case.id, actor="test", action="test", now=first, state=state)
    bot.store.write_sync(tx)
    found = bot.store.read_sync(find_pressing, bot.calendar, at)
    each = bot.store.read_sync(lambda db: [c for c in cases.active(db) if pressing(c, bot.calendar, at)])
    assert {i for ids in found.villages.values() for i in ids} == \
        {c.id for c in each if c.level == "village" and not c.confidential}
    assert {i for ids in found.towns.values() for i in ids} == \
        {c.id for c in each if c.level != "village" or c.confidential}
    assert 10 < len(each) < 50                                       # some pressing, some not yet
    await bot.stop()

async def test_a_case_answered_after_the_read_is_not_pressed(config, clock, standin, traced, monkeypatch):
    """The pass runs on a reader before the writes; a case that changed meanwhile is looked at again."""
    from schedules import nags
    config = county(config, 1, 2)
    bot = await started(config, clock)
    first = config.towns[0].villages[0]
    case = open_case(bot, received="2026-11-20T10:00+08:00", village=first.name)
    real = nags.find_pressing

    def then_answered(db, calendar, at):
        found = real(db, calendar, at)
        bot.store.write_sync(lambda w: cases.append(w, case.id, actor="test", action="answered", now=at,
                                                    state={"status": "answered", "answered_at": at}))
        return found
    monkeypatch.setattr(nags, "find_pressing", then_answered)
    await run_at(bot, clock, "nags", "2026-12-02T09:30+08:00")
    assert rows(bot, "SELECT * FROM nags") == []
    assert private(standin, first.cadres[0].userid) == []
    await bot.stop()


async def test_each_towns_inspectors_are_pressed_on_their_own_clue_though_the_numbers_repeat(config, clock, standin):
    """Clue numbers run per town: 第02镇's J2026-001 must reach its inspectors although 翠江镇 has a J2026-001 too."""
    config = county(config, 2, 1)
    bot = await started(config, clock)
    at = datetime.fromisoformat("2026-11-20T10:00+08:00")
    for town in config.towns:
        [village] = town.villages
        clue = bot.store.write_sync(lambda db: cases.open_case(
            db, message_id=None, town=town.name, village=village.name, kind="report", text=f"{town.name}有干部收了好处费",
            requester="resident-1", chat_id=None, received_at=at, due_at=bot.base.due_at("consult", at), now=at))
        assert clue.number == "J2026-001"
    await run_at(bot, clock, "nags", "2026-12-02T09:30+08:00")
    await run_at(bot, clock, "digest", "2026-12-03T08:00+08:00")
    assert rows(bot, "SELECT key FROM alerts WHERE key LIKE 'job-error:%'") == []
    [nag, digest] = private(standin, "t2-jw")
    assert "J2026-001" in nag and "第02镇有干部收了好处费" in nag and "翠江镇有干部" not in nag
    assert digest.startswith("**巡群日报·第02镇**")
    await bot.stop()


async def test_a_clue_number_every_town_has_reaches_whoever_may_see_that_towns_clue(config, clock, standin):
    """The choke point finds, among a province's many J2026-001, the one an audience may see by town and by
    reporter (an index, not a scan of every town's): its reporter and its inspectors read it; nobody else."""
    from bot.outbound import ConfidentialityBreach, Outgoing
    config = county(config, 3, 1)
    bot = await started(config, clock)
    at = datetime.fromisoformat("2026-11-20T10:00+08:00")
    for n, town in enumerate(config.towns, start=1):
        [village] = town.villages
        bot.store.write_sync(lambda db: cases.open_case(
            db, message_id=None, town=town.name, village=village.name, kind="report", text=f"{town.name}有干部收了好处费",
            requester=f"reporter-{n}", chat_id=None, received_at=at, due_at=at, now=at))
    last = config.towns[-1]

    def send(audience, text="您反映的 J2026-001 已受理"):
        def tx(db):
            out = Outgoing(db, bot.config, at, "test")
            out.inspectors_group(last, text) if audience == "inspectors" else out.members([audience], text)
        bot.store.write_sync(tx)
    for audience in ("reporter-1", "reporter-3", "t3-jw", "inspectors"):
        send(audience)                                             # each its own town's J2026-001
    for audience, text in (("reporter-9", "J2026-001"), (last.villages[0].cadres[0].userid, "J2026-001"),
                           ("reporter-1", f"{last.name}有干部收了好处费")):
        with pytest.raises(ConfidentialityBreach):
            send(audience, text)
    await bot.stop()


@pytest.fixture
def written(monkeypatch):
    """Every SQL statement the writer thread runs (the outbox sender's reads may come and go beside a job)."""
    seen: list[str] = []
    real = storage.connect

    def connect(*args, **kwargs):
        db = real(*args, **kwargs)
        db.conn.set_trace_callback(lambda sql: seen.append(sql) if threading.current_thread().name == "sqlite-writer"
                                   else None)
        return db
    monkeypatch.setattr(storage, "connect", connect)
    return seen


async def test_the_nags_job_writes_as_many_statements_for_30_cases_a_village_as_for_3(config, clock, standin,
                                                                                      written):
    """Recording, sealing and queueing go by target, not by case: a chunk's statements (the nags and their ledger
    entries included) do not grow with the cases in it, while every case is still recorded and pressed."""
    traced = written
    issued, recorded, sealed = [], [], []
    for n in (3, 30):
        county_n = county(config, 2, 2)
        county_n = replace(county_n, storage_path=county_n.storage_path.with_name(f"nags-{n}.db"))
        bot = await started(county_n, clock)
        for village in county_n.villages():
            for i in range(n):          # overdue by 5 and by 2 working days: duty and a rung above, every case
                open_case(bot, received=f"2026-11-{20 if i % 2 else 25}T10:00+08:00", village=village.name,
                          text=f"村口路灯坏了{i}")
        clock.set("2026-12-02T09:30+08:00")
        del traced[:]
        await bot.jobs.run("nags")
        issued.append(len(traced))
        recorded.append(rows(bot, "SELECT COUNT(*) AS n FROM nags")[0]["n"])
        sealed.append(rows(bot, "SELECT COUNT(*) AS n, SUM(last_row_id - row_id + 1) AS rows FROM ledger "
                                "WHERE tbl = 'nags'")[0])
        await bot.settle()
        await bot.stop()
    assert recorded == [4 * 3 * 2, 4 * 30 * 2]        # each case's duty nag and its rung's, in every village
    assert issued[1] == issued[0] < 200
    # One ledger entry seals each village's run of nags, however many cases it holds (4 villages).
    assert sealed == [{"n": 4, "rows": 4 * 3 * 2}, {"n": 4, "rows": 4 * 30 * 2}]


async def test_a_clue_opened_after_the_clue_list_was_read_is_guarded_in_the_next_transaction(config, clock, standin):
    """The clue list is read again once the case history has moved on (it is kept between chunks otherwise)."""
    from bot.outbound import ConfidentialityBreach, Outgoing
    bot = await started(config, clock)
    at = datetime.fromisoformat("2026-12-01T09:00+08:00")
    cadre = config.villages().__next__().cadres[0].userid
    words = "村里有人说张会计收了低保户两千元好处费"

    def tell(db):
        Outgoing(db, bot.config, at, "test").members([cadre], f"群众反映：{words}")
    bot.store.write_sync(tell)                                   # no clue says so yet
    bot.store.write_sync(tell)                                   # the list kept: the same history
    bot.store.write_sync(lambda db: cases.open_case(
        db, message_id=None, town="翠江镇", village="城南村", kind="report", text=words, requester="resident-1",
        chat_id=None, received_at=at, due_at=at, now=at))
    with pytest.raises(ConfidentialityBreach):
        bot.store.write_sync(tell)
    await bot.stop()


async def test_long_and_short_clues_are_found_wherever_a_message_quotes_them(config, clock, standin):
    """Runs of a clue's words (WINDOW characters) and whole short clues (6 to 9) are looked for in one pass over a
    message, by their first characters: a quote of either, at the start, inside or at the end, is refused; a run
    one character short of either goes out."""
    from bot.outbound import ConfidentialityBreach, Outgoing
    bot = await started(config, clock)
    at = datetime.fromisoformat("2026-12-01T09:00+08:00")
    long, short = "村主任把今年的低保名额给了他自己的亲戚", "会计收好处费"
    for words in (long, short):
        bot.store.write_sync(lambda db, words=words: cases.open_case(
            db, message_id=None, town="翠江镇", village="城南村", kind="report", text=words, requester="resident-1",
            chat_id=None, received_at=at, due_at=at, now=at))
    cadre = config.villages().__next__().cadres[0].userid

    def tell(text):
        bot.store.write_sync(lambda db: Outgoing(db, bot.config, at, "test").members([cadre], text))
    for quote in (long[:10], f"群众反映：{long[4:14]}。", f"群众反映 {long[:5]} {long[5:10]}", f"有人说{short}",
                  f"{long[-10:]}", f"{short}\n了"):
        with pytest.raises(ConfidentialityBreach):
            tell(quote)
    tell(f"{long[:9]}，{long[10:19]}，{short[:5]}，{short[1:]}")      # none of them a run of a clue's
    await bot.stop()


def test_the_one_pass_scan_finds_what_looking_everywhere_finds(config):
    """The choke point scans a message once, by the shortest window's first characters. Against every window of
    every clue looked for everywhere: random clues of 6 to 30 characters from four letters (so that runs repeat and overlap), and
    messages with spaces and line breaks, half of them quoting a piece of a clue at any position."""
    import random
    from bot.outbound import Audience, Outgoing, _Clue, _Clues, _flat, _windows
    rng = random.Random(5)
    letters = "甲乙丙丁"
    found_any = 0
    for _ in range(400):
        texts = ["".join(rng.choice(letters) for _ in range(rng.randint(6, 30))) for _ in range(rng.randint(1, 4))]
        clues = [_Clue(f"J2026-{n:03d}", "翠江镇", "r", _windows(t)) for n, t in enumerate(texts)]
        out = Outgoing(None, config, datetime.fromisoformat("2026-12-01T09:00+08:00"), "test")
        out._clues = _Clues(clues, config)
        message = "".join(rng.choice(letters + " \n") for _ in range(rng.randint(0, 40)))
        if rng.random() < 0.5:
            quoted = rng.choice(texts)
            start = rng.randrange(len(quoted))
            cut = rng.randrange(len(message) + 1)
            message = message[:cut] + " ".join(quoted[start:start + rng.randint(6, 14)]) + message[cut:]
        flat = _flat(message)
        expected = {c.number for c in clues if any(w in flat for w in c.windows)}
        assert {c.number for c in out._mentioned(message, Audience("group", "城南村"))} == expected, message
        found_any += bool(expected)
    assert 60 < found_any < 300           # both kinds of message were tried


def test_a_villages_recent_requests_are_found_by_village_and_day(tmp_path):
    """What a "+1" or a cadre's answer is compared with: the village's requests of the last days, through the index
    on both, not a walk through every case the village has had."""
    from datetime import datetime

    from bot import cases
    from bot.storage import connect
    db = connect(tmp_path / "x.db")
    seen: list[str] = []
    db.conn.set_trace_callback(seen.append)
    cases.find(db, village="城南村", statuses=cases.ACTIVE, since=datetime.fromisoformat("2026-11-28T09:00+08:00"))
    db.conn.set_trace_callback(None)
    [sql] = [s for s in seen if s.lstrip().startswith("SELECT")]
    plan = " ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql).fetchall())
    assert "cases_village_received" in plan, plan
