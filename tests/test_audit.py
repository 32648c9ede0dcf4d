"""`xiaowei audit verify` against someone who edits the database file behind the bot's back: one real morning
recorded once (requests, a claim, a clue, a re-label, a 公示, nags, 公开提醒, the digest and its anchor), then every way of
tampering with a copy of it, each caught; truncations that leave a consistent prefix are caught by the anchors."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import shutil
import sqlite3
import stat
from pathlib import Path
from typing import Callable

import pytest

from bot import ledger
from bot.audit import verify
from bot.cases import chain_hash
from bot.cli import main
from bot.clock import ManualClock
from bot.config import load_config
from bot.sandbox.config import SANDBOX_AUDIT_KEY, example_config_path, sandbox_config
from bot.sandbox.standin import WeComStandIn
from bot.storage import connect
from tests.conftest import BRIDGE_SECRET, CHENGNAN, start_service, stop_service
from tests.schedule_helpers import open_case
from tests.test_group_kinds import kinds

KEY = SANDBOX_AUDIT_KEY.encode()
LAMP = "村口那盏路灯坏了一个多星期了，晚上黑乎乎的老人走路怕摔，麻烦派人来修一下"
CLUE = "村会计贪污了修路的钱，账上做了假，我要举报"
TRIGGERS = ("cases_no_update", "cases_no_delete", "events_no_update", "events_no_delete", "ledger_no_update",
            "ledger_no_delete", "publicity_no_update", "publicity_no_delete")


async def _say(service, standin, text: str, userid: str = "resident-1") -> None:
    assert (await service.aibot(standin, text=text, userid=userid)).status == 200
    await service.bot.settle()


async def _record_a_morning(workdir: Path) -> None:
    clock = ManualClock("2026-12-01T09:00:00+08:00")
    async with WeComStandIn(clock) as standin:
        config = kinds(sandbox_config(standin, workdir / "xiaowei.db", bridge_secret=BRIDGE_SECRET), 双虹村="customer")
        service = await start_service(config, clock)
        try:
            open_case(service.bot, received="2026-11-20T10:00:00+08:00")     # 101, overdue: the nags press it
            await _say(service, standin, LAMP)                                  # 102
            await _say(service, standin, "认领 102", userid="cn-li")
            # 103: a customer group's draft answer nobody posts; its reminder (this afternoon) is a fact too.
            shuanghong = service.bot.config.village_by_name("双虹村")
            case = open_case(service.bot, received="2026-12-01T09:00:00+08:00", village="双虹村")
            await service.bot.commit(lambda db, out: out.group(shuanghong, f"编号 {case.number} 已登记",
                                                               case_id=case.id, purpose="intake"))
            await _say(service, standin, CLUE)                                  # J2026-001, a clue
            await _say(service, standin, "改类 102 咨询", userid="cn-li")       # a correction
            await _say(service, standin, "公示 财务收支 2026年11月财务收支\n收入5万元，支出3.2万元", userid="cn-chen")
            # A photo quoting the bot's receipt: no case, but its quote and its media are facts of their own.
            photo = standin.aibot_message(chatid=CHENGNAN, userid="resident-2", text="", quote="收到，已登记，编号 102")
            photo.pop("text")
            photo.update(msgtype="image", image={"url": "https://qyapi.weixin.qq.com/x.jpg"})
            assert (await service.post("/wecom/aibot", *standin.seal_aibot(photo))).status == 200
            await service.bot.settle()
            await _say(service, standin, "进展 102 已联系电工", userid="cn-li")  # the newest event: changes no state
            clock.set("2026-12-01T09:30:00+08:00")
            for job in ("nags", "publicity", "digest"):
                await service.bot.jobs.run(job)
                await service.bot.settle()
            clock.set("2026-12-01T15:30:00+08:00")     # 双虹村's draft is past its 4 working hours
            await service.bot.jobs.run("draft_nags")
            await service.bot.settle()
        finally:
            await stop_service(service)


@pytest.fixture(scope="module")
def morning(tmp_path_factory) -> Path:
    """The recorded morning's folder: xiaowei.db (checkpointed into one file) and xiaowei.anchors."""
    workdir = tmp_path_factory.mktemp("morning")
    asyncio.run(_record_a_morning(workdir))
    raw = sqlite3.connect(workdir / "xiaowei.db")
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    return workdir


@pytest.fixture
def copy(morning, tmp_path) -> Path:
    for name in ("xiaowei.db", "xiaowei.anchors"):
        shutil.copy(morning / name, tmp_path / name)
    return tmp_path


def tampered(folder: Path, tamper: Callable[[sqlite3.Connection], None]) -> Path:
    """Tamper as an intruder with the file would: plain sqlite3, the append-only triggers dropped first."""
    raw = sqlite3.connect(folder / "xiaowei.db")
    raw.row_factory = sqlite3.Row
    raw.executescript("".join(f"DROP TRIGGER IF EXISTS {t};" for t in TRIGGERS))
    tamper(raw)
    raw.commit()
    raw.close()
    return folder / "xiaowei.db"


def check(path: Path, *, anchors: Path | None = None, key: bytes = KEY) -> list[str]:
    return verify(connect(path), key, ledger.read_anchors(anchors) if anchors else None)


# --- what an intruder does, one way at a time ----------------------------------------------------------

def one(raw: sqlite3.Connection, sql: str, args: tuple = ()) -> object:
    return raw.execute(sql, args).fetchone()[0]


def refold(raw: sqlite3.Connection) -> None:
    """Make every case_state row agree with the events left, as a careful intruder would."""
    for (case_id,) in raw.execute("SELECT case_id FROM case_state").fetchall():
        state: dict = {}
        for at, action, detail in raw.execute("SELECT at, action, detail FROM events WHERE case_id = ? ORDER BY id",
                                              [case_id]).fetchall():
            change = json.loads(detail)["state"]
            if action == "opened":
                state = {"escalate_by": None, "assignee": None, "first_response_at": None, "answered_at": None,
                         "rating": None, "supervised": 0}
            state.update(change)
            if change or action == "opened":
                state["updated_at"] = at
        raw.execute(f"UPDATE case_state SET {', '.join(f'{k} = ?' for k in state)} WHERE case_id = ?",
                    [*state.values(), case_id])


def forge_event(raw: sqlite3.Connection, *, seal_key: bytes | None = None) -> None:
    """Append an event whose unkeyed chain hash is right; with seal_key, also a ledger entry sealed with it."""
    prev = one(raw, "SELECT hash FROM events ORDER BY id DESC LIMIT 1")
    detail = json.dumps({"note": "群众已撤回诉求", "state": {}}, ensure_ascii=False, sort_keys=True)
    at = "2026-12-01T09:40:00+08:00"
    args = [1, at, "cn-li", "progress", detail, prev, chain_hash(prev, 1, at, "cn-li", "progress", detail)]
    event_id = raw.execute("INSERT INTO events (case_id, at, actor, action, detail, prev_hash, hash) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)", args).lastrowid
    if seal_key is not None:
        facts = one(raw, f"SELECT {ledger.facts_sql('events')} FROM events WHERE id = ?", (event_id,))
        digest, head = ledger.digest(facts), one(raw, "SELECT hash FROM ledger ORDER BY id DESC LIMIT 1")
        raw.execute("INSERT INTO ledger (tbl, row_id, digest, prev_hash, hash) VALUES ('events', ?, ?, ?, ?)",
                    [event_id, digest, head, ledger.seal(seal_key, head, "events", event_id, digest)])


def unkeyed_forgery(raw: sqlite3.Connection) -> None:
    """A forged event and ledger entry whose hash is the plain SHA-256 an intruder can compute."""
    forge_event(raw)
    event_id = one(raw, "SELECT MAX(id) FROM events")
    facts = one(raw, f"SELECT {ledger.facts_sql('events')} FROM events WHERE id = ?", (event_id,))
    digest, head = ledger.digest(facts), one(raw, "SELECT hash FROM ledger ORDER BY id DESC LIMIT 1")
    plain = hashlib.sha256(json.dumps([head, "events", event_id, digest], separators=(",", ":")).encode()).hexdigest()
    raw.execute("INSERT INTO ledger (tbl, row_id, digest, prev_hash, hash) VALUES ('events', ?, ?, ?, ?)",
                [event_id, digest, head, plain])


def rechain_events_from(raw: sqlite3.Connection, first: int) -> None:
    prev = one(raw, "SELECT prev_hash FROM events WHERE id = ?", (first,))
    for row in raw.execute("SELECT * FROM events WHERE id >= ? ORDER BY id", [first]).fetchall():
        new = chain_hash(prev, row["case_id"], row["at"], row["actor"], row["action"], row["detail"])
        raw.execute("UPDATE events SET prev_hash = ?, hash = ? WHERE id = ?", [prev, new, row["id"]])
        prev = new


def edit_event_and_rechain(raw: sqlite3.Connection) -> None:
    first = one(raw, "SELECT id FROM events WHERE action = 'claimed'")
    raw.execute("UPDATE events SET actor = 'cn-chen' WHERE id = ?", [first])
    rechain_events_from(raw, first)


def delete_case_keep_events(number: str) -> Callable[[sqlite3.Connection], None]:
    def tamper(raw: sqlite3.Connection) -> None:
        case_id = one(raw, "SELECT id FROM cases WHERE number = ?", (number,))
        raw.execute("DELETE FROM case_state WHERE case_id = ?", [case_id])
        raw.execute("DELETE FROM cases WHERE id = ?", [case_id])
    return tamper


def delete_newest_case(raw: sqlite3.Connection) -> None:
    """Every row of the newest case, and the events chain re-linked over the gap."""
    case_id = one(raw, "SELECT MAX(id) FROM cases")
    after = one(raw, "SELECT MIN(id) FROM events WHERE id > (SELECT MAX(id) FROM events WHERE case_id = ?)",
                (case_id,))
    for statement in ("DELETE FROM events WHERE case_id = ?", "DELETE FROM case_state WHERE case_id = ?",
                      "DELETE FROM cases WHERE id = ?"):
        raw.execute(statement, [case_id])
    if after is not None:
        raw.execute("UPDATE events SET prev_hash = (SELECT hash FROM events WHERE id < ? ORDER BY id DESC LIMIT 1) "
                    "WHERE id = ?", [after, after])
        rechain_events_from(raw, after)


def truncate_events_and_refold(raw: sqlite3.Connection) -> None:
    relabeled = one(raw, "SELECT id FROM events WHERE action = 'relabeled'")
    raw.execute("DELETE FROM events WHERE id >= ?", [relabeled])
    refold(raw)


def sql(statement: str) -> Callable[[sqlite3.Connection], None]:
    return lambda raw: raw.executescript(statement)


SENT = "(SELECT MIN(id) FROM outbox WHERE status = 'sent')"
TAMPERINGS = {
    # Each of these passed the verification before the keyed ledger.
    "delete a clue's case and state, events kept": (delete_case_keep_events("J2026-001"), "诉求 J2026-001"),
    "delete a request's case and state, events kept": (delete_case_keep_events("102"), "诉求 102"),
    "delete the newest case with its events": (delete_newest_case, "诉求 #4：记录被删除"),
    "delete the newest event (it changed no state)": (sql("DELETE FROM events WHERE id = (SELECT MAX(id) FROM events)"),
                                                      "事件 #"),
    "truncate the events and re-fold the states": (truncate_events_and_refold, "事件 #"),
    "edit an event and recompute every hash after it": (edit_event_and_rechain, "内容与审计链记录的不符"),
    "append a forged event with a correct hash": (forge_event, "审计链里没有这条记录"),
    "append a forged event and an unkeyed ledger entry": (unkeyed_forgery, "签名不符"),
    "append a forged event sealed with another key": (lambda raw: forge_event(raw, seal_key=b"x" * 32), "签名不符"),
    "edit a case's chat_id": (sql("UPDATE cases SET chat_id = 'wrk-other' WHERE number = '102'"), "诉求 102"),
    "edit a case's confidence": (sql("UPDATE cases SET confidence = 0.99 WHERE number = '102'"), "诉求 102"),
    "edit a case's message_id": (sql("UPDATE cases SET message_id = NULL WHERE number = '102'"), "诉求 102"),
    "edit case_state.updated_at": (sql("UPDATE case_state SET updated_at = '2026-11-01T08:00:00+08:00' "
                                       "WHERE case_id = 2"), "诉求 102：当前状态"),
    "edit a stored message": (sql("UPDATE messages SET text = '没什么事' WHERE id = 1"), "收到的消息 #1"),
    "edit a message's sender": (sql("UPDATE messages SET sender = 'resident-9' WHERE id = 1"), "收到的消息 #1"),
    "delete a stored message": (sql("DELETE FROM messages WHERE text LIKE '%贪污%'"), "收到的消息 #"),
    "insert a message": (sql("INSERT INTO messages (channel, msgid, chattype, sender, text, received_at) "
                             "VALUES ('aibot', 'forged', 'single', 'x', '我没说过', '2026-12-01T09:10:00+08:00')"),
                         "审计链里没有这条记录"),
    "edit a sent message's payload": (sql(f"UPDATE outbox SET payload = payload || ' ' WHERE id = {SENT}"),
                                      "已发消息 #"),
    "edit a sent message's target": (sql(f"UPDATE outbox SET target = 'someone-else' WHERE id = {SENT}"),
                                     "已发消息 #"),
    "edit a sent message's sent_at": (sql(f"UPDATE outbox SET sent_at = '2026-11-30T09:00:00+08:00' WHERE id = {SENT}"),
                                      "已发消息 #"),
    "mark a sent message unsent": (sql(f"UPDATE outbox SET status = 'pending', sent_at = NULL WHERE id = {SENT}"),
                                   "被改回未发送"),
    "delete a sent message": (sql(f"DELETE FROM outbox WHERE id = {SENT}"), "已发消息 #"),
    "edit a nag": (sql("UPDATE nags SET userids = '[]' WHERE id = 1"), "催办记录 #1"),
    "delete a nag": (sql("DELETE FROM nags WHERE id = 1"), "催办记录 #1"),
    "edit a correction": (sql("UPDATE corrections SET label = 'help'"), "改类纠正 #1"),
    "delete a correction": (sql("DELETE FROM corrections"), "改类纠正 #1"),
    "edit a job run": (sql("UPDATE job_runs SET ran_at = '2026-12-01T07:00:00+08:00' WHERE id = 1"),
                       "定时任务记录 #1"),
    "delete a job run": (sql("DELETE FROM job_runs WHERE id = 1"), "定时任务记录 #1"),
    "edit a 公示": (sql("UPDATE publicity SET body = '收入8万元' WHERE id = 1"), "村务公示 #1"),
    "delete a 公示": (sql("DELETE FROM publicity WHERE id = 1"), "村务公示 #1"),
    "edit a 公开提醒": (sql("UPDATE publicity_nags SET userids = '[]' WHERE id = 1"), "公开提醒记录 #1"),
    "edit a draft's reminder": (sql("UPDATE draft_nags SET userids = '[]' WHERE id = 1"), "草稿催办记录 #1"),
    "delete a draft's reminder": (sql("DELETE FROM draft_nags WHERE id = 1"), "草稿催办记录 #1"),
    "edit what a message quotes": (sql("UPDATE messages SET quote = '我没说过' WHERE quote IS NOT NULL"),
                                   "消息的引用和附件 #"),
    "drop what a message quotes and shows": (sql("UPDATE messages SET quote = NULL, media = NULL "
                                                 "WHERE quote IS NOT NULL"), "消息的引用和附件 #"),
    "give a message a quote it never had": (sql("UPDATE messages SET quote = '收到，编号 101' WHERE id = 1"),
                                            "消息的引用和附件 #1"),
    "edit a ledger entry's digest": (sql(
        "UPDATE ledger SET digest = 'x' || substr(digest, 2) WHERE id = 3"), "审计链第 3 条"),
    # Caught before too: kept so that they stay caught.
    "edit an event": (sql("UPDATE events SET detail = replace(detail, '电工', '水工') WHERE action = 'progress'"),
                      "被改动"),
    "delete an event in the middle": (sql("DELETE FROM events WHERE action = 'claimed'"), "接不上"),
    "edit a case's text": (sql("UPDATE cases SET text = '没什么事' WHERE number = '102'"), "登记内容"),
}


def test_the_recorded_morning_is_whole_and_every_kind_of_fact_is_sealed(copy):
    assert check(copy / "xiaowei.db") == []
    assert check(copy / "xiaowei.db", anchors=copy / "xiaowei.anchors") == []
    raw = sqlite3.connect(copy / "xiaowei.db")
    sealed = dict(raw.execute("SELECT tbl, COUNT(*) FROM ledger GROUP BY tbl").fetchall())
    assert set(sealed) == set(ledger.FACTS)
    assert sealed["outbox"] == one(raw, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'") > 0
    assert one(raw, "SELECT action FROM events ORDER BY id DESC LIMIT 1") == "progress"


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_each_tampering_is_caught(copy, name):
    tamper, expected = TAMPERINGS[name]
    problems = check(tampered(copy, tamper))
    assert problems, name
    assert any(expected in p for p in problems), problems


def test_a_wrong_key_fails_the_whole_chain_in_one_line(copy):
    problems = check(copy / "xiaowei.db", key=b"not-the-key-that-wrote-this")
    assert problems == ["审计链全部签名不符：审计密钥不是写入时的那把，或整条链被重新计算过"]


# --- the tail: a consistent prefix is only caught by the anchors -----------------------------------------

def truncate_ledger(keep: Callable[[sqlite3.Connection], int]) -> Callable[[sqlite3.Connection], None]:
    """Remove every fact recorded after entry `keep` together with its ledger entries, then re-fold."""
    def tamper(raw: sqlite3.Connection) -> None:
        last = keep(raw)
        for tbl, low, high in raw.execute("SELECT tbl, row_id, COALESCE(last_row_id, row_id) FROM ledger "
                                          "WHERE id > ?", [last]).fetchall():
            if tbl == "message_extras":
                continue          # a view over messages: the message goes with its own entry
            raw.execute(f"DELETE FROM {tbl} WHERE id BETWEEN ? AND ?", [low, high])     # an entry may seal a run
            if tbl == "cases":
                raw.execute("DELETE FROM case_state WHERE case_id BETWEEN ? AND ?", [low, high])
        raw.execute("DELETE FROM ledger WHERE id > ?", [last])
        refold(raw)
    return tamper


def anchored(raw: sqlite3.Connection) -> int:
    return json.loads((Path(raw.execute("PRAGMA database_list").fetchone()[2]).parent / "xiaowei.anchors")
                      .read_text().splitlines()[-1])["count"]


TRUNCATIONS = {
    "the newest anchored fact": truncate_ledger(lambda raw: anchored(raw) - 1),
    "everything since the clue was opened": truncate_ledger(lambda raw: one(
        raw, "SELECT id - 1 FROM ledger WHERE tbl = 'cases' AND row_id = "
             "(SELECT id FROM cases WHERE number = 'J2026-001')")),
    "the newest event, its message and everything after": truncate_ledger(lambda raw: one(
        raw, "SELECT id - 1 FROM ledger WHERE tbl = 'messages' AND row_id = "
             "(SELECT id FROM messages WHERE text LIKE '%已联系电工%')")),
}


@pytest.mark.parametrize("name", list(TRUNCATIONS))
def test_a_truncated_tail_passes_alone_but_not_against_the_anchors(copy, name):
    path = tampered(copy, TRUNCATIONS[name])
    assert check(path) == []                 # a consistent prefix: nothing inside the database can tell
    problems = check(path, anchors=copy / "xiaowei.anchors")
    assert len(problems) == 1 and "2026-12-01 的锚点" in problems[0] and "尾部被删除" in problems[0], problems


def test_a_chain_resealed_with_another_key_is_caught_and_contradicts_the_anchor(copy):
    def reseal(raw: sqlite3.Connection) -> None:
        prev = ledger.GENESIS
        for row in raw.execute("SELECT * FROM ledger ORDER BY id").fetchall():
            new = ledger.seal(b"the-intruders-own-key", prev, row["tbl"], row["row_id"], row["digest"],
                              row["last_row_id"])
            raw.execute("UPDATE ledger SET prev_hash = ?, hash = ? WHERE id = ?", [prev, new, row["id"]])
            prev = new
    path = tampered(copy, reseal)
    assert check(path, key=b"the-intruders-own-key") == []       # consistent under the intruder's key...
    problems = check(path, key=b"the-intruders-own-key", anchors=copy / "xiaowei.anchors")
    assert any("与当天记下的链尾不符" in p for p in problems)          # ...but not with the morning's anchor
    assert check(path) == ["审计链全部签名不符：审计密钥不是写入时的那把，或整条链被重新计算过"]


# --- the digest line and the anchor file ---------------------------------------------------------------

def test_the_digest_shows_the_head_privately_and_appends_the_same_to_the_anchor_file(morning):
    [anchor] = ledger.read_anchors(morning / "xiaowei.anchors")
    raw = sqlite3.connect(morning / "xiaowei.db")
    assert anchor["day"] == "2026-12-01"
    assert one(raw, "SELECT hash FROM ledger WHERE id = ?", (anchor["count"],)) == anchor["head"]
    digests = [json.loads(p)["markdown"]["content"] for (p,) in raw.execute(
        "SELECT payload FROM outbox WHERE kind = 'app' AND target = 'zjw-hu' AND payload LIKE '%巡群日报%'")]
    assert digests and digests[0].splitlines()[-1] == f"审计链：第 {anchor['count']} 条，尾 {anchor['head'][:12]}"


def example_config(tmp_path: Path, key: str = "", **replacements: str) -> Path:
    """The example configuration in tmp_path, WeCom unreachable, with this `[audit] key`."""
    text = example_config_path().read_text(encoding="utf-8").replace(
        'api_base = "https://qyapi.weixin.qq.com"', 'api_base = "http://127.0.0.1:9"').replace(
        '\nkey = ""', f'\nkey = "{key}"')
    for old, new in replacements.items():
        text = text.replace(old, new)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_digest_job_anchors_once_a_day_and_a_dry_run_not_at_all(tmp_path, capsys):
    path = example_config(tmp_path)
    anchors = tmp_path / "var/xiaowei.anchors"
    at = ("--at", "2026-12-01T08:00+08:00", "--config", str(path))
    assert main(["run-job", "digest", "--dry-run", *at]) == 0
    assert not anchors.exists() and not (tmp_path / ledger.KEY_FILE).exists()   # a rehearsal leaves nothing
    assert main(["run-job", "digest", *at]) == 0
    assert main(["run-job", "digest", *at]) == 0                               # sent nothing new: no new line
    [anchor] = ledger.read_anchors(anchors)
    assert anchor["day"] == "2026-12-01" and anchor["count"] == 0              # nothing was recorded before it
    capsys.readouterr()


# --- the key ---------------------------------------------------------------------------------------------

def test_without_a_configured_key_the_first_start_makes_a_private_key_file_and_later_starts_read_it(tmp_path, caplog):
    config = load_config(example_config(tmp_path), env={})
    assert ledger.signing_key(config) is None                                   # verify never invents one
    with caplog.at_level(logging.WARNING, logger="xiaowei.audit"):
        made = ledger.signing_key(config, create=True)
    path = tmp_path / ledger.KEY_FILE
    assert made and path.read_text().strip().encode() == made
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "xiaowei.audit-key" in caplog.text and "backups" in caplog.text
    caplog.clear()
    assert ledger.signing_key(config, create=True) == made and not caplog.text   # read, not made again


def test_a_configured_key_wins_from_the_file_the_environment_or_env_name(tmp_path):
    path = example_config(tmp_path, "env:MY_AUDIT_KEY")
    (tmp_path / ledger.KEY_FILE).write_text("file-key-file-key-file-key\n")
    assert ledger.signing_key(load_config(path, env={"MY_AUDIT_KEY": "from-env-name-0123456"})) == \
        b"from-env-name-0123456"
    assert ledger.signing_key(load_config(path, env={"MY_AUDIT_KEY": "x" * 16,
                                                     "XIAOWEI_AUDIT_KEY": "from-the-environment-1"})) == \
        b"from-the-environment-1"
    assert ledger.signing_key(load_config(example_config(tmp_path), env={})) == b"file-key-file-key-file-key"


def test_a_connection_without_the_key_cannot_write_a_fact(tmp_path):
    from datetime import datetime
    from bot import cases
    db = connect(tmp_path / "x.db")
    at = datetime.fromisoformat("2026-12-01T09:00+08:00")
    with pytest.raises(ledger.MissingKey):
        with db.atomic():
            cases.open_case(db, message_id=None, town="翠江镇", village="城南村", kind="help", text="路灯坏了",
                            requester="r", chat_id=None, received_at=at, due_at=at, now=at)
    assert db.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 0         # nothing unsealed was kept



def _runs(db, n: int) -> list[int]:
    return [db.execute("INSERT INTO job_runs (job, target, day, ran_at) VALUES ('nags', ?, '2026-12-01', ?)",
                       [f"村{i}", f"2026-12-01T09:30:0{i % 10}+08:00"]).lastrowid for i in range(n)]


def test_a_batch_is_sealed_as_one_entry_per_run_of_rows_and_each_row_is_still_checked(tmp_path):
    """ledger.add_many (a village's nags of a morning) chains on the head and seals each run of consecutive ids as
    one entry, whatever order the ids come in; a lone row gets the entry `add` makes. `audit verify` accepts it,
    and still catches a row of the run edited, deleted, or sealed twice."""
    db = connect(tmp_path / "many.db", audit_key=KEY)
    with db.atomic():
        first, *rest = _runs(db, 7)
        ledger.add(db, "job_runs", first)                       # a chain that already has a head
        ledger.add_many(db, "job_runs", reversed(rest[:4]))     # rows 2–5: one run
        ledger.add_many(db, "job_runs", [rest[5]])              # row 7 alone (row 6 sealed below)
        ledger.add_many(db, "job_runs", [])                     # nothing to seal: no entry
        ledger.add(db, "job_runs", rest[4])
    entries = db.execute("SELECT tbl, row_id, last_row_id FROM ledger ORDER BY id").fetchall()
    assert entries == [("job_runs", 1, None), ("job_runs", 2, 5), ("job_runs", 7, None), ("job_runs", 6, None)]
    assert verify(db, KEY) == []
    assert verify(db, b"another key")[0].startswith("审计链全部签名不符")
    raw = sqlite3.connect(tmp_path / "many.db")
    with raw:
        raw.execute("UPDATE job_runs SET target = '别的村' WHERE id = 3")
    assert verify(db, KEY) == ["定时任务记录 #2–#5：其中有记录内容与审计链记录的不符（被改动）"]
    with raw:
        raw.execute("DELETE FROM job_runs WHERE id = 3")
    assert verify(db, KEY) == ["定时任务记录 #3：记录被删除（审计链里有它）"]
    with db.atomic():       # a row of the run sealed again on its own
        ledger.add(db, "job_runs", 4)
    assert "定时任务记录 #4：在审计链里出现了 2 次" in verify(db, KEY)


def test_an_entry_of_a_run_cannot_be_read_as_the_entry_of_one_row():
    """A run's seal covers its last row id too, so the same values sealed as one row's entry differ."""
    digest = hashlib.sha256(b"x").hexdigest()
    assert ledger.seal(KEY, ledger.GENESIS, "nags", 1, digest, 5) != ledger.seal(KEY, ledger.GENESIS, "nags", 1, digest)
    assert ledger.seal(KEY, ledger.GENESIS, "nags", 1, digest, 5) != ledger.seal(KEY, ledger.GENESIS, "nags", 1, digest, 6)


@pytest.mark.parametrize("prev, table, row_id, row_digest", [
    (ledger.GENESIS, "nags", 1, hashlib.sha256(b"x").hexdigest()),
    ("ab" * 32, "publicity_nags", 123456789, "cd" * 32),
    ('a"b\\c', "nags", 7, "村"),                      # a tampered entry's text: JSON escapes it
    ("ab" * 32, "nags", 7.0, "cd" * 32),                  # not an int: JSON writes 7.0
])
def test_a_seal_is_the_hmac_of_the_entry_as_json(prev, table, row_id, row_digest):
    """seal writes the entry's JSON itself for the usual values: the very bytes json.dumps writes, so every entry
    ever sealed still verifies."""
    material = json.dumps([prev, table, row_id, row_digest], separators=(",", ":")).encode("utf-8")
    assert ledger.seal(KEY, prev, table, row_id, row_digest) == hmac.new(KEY, material, "sha256").hexdigest()


def test_a_connection_without_the_key_cannot_seal_a_batch(tmp_path):
    db = connect(tmp_path / "x.db")
    with pytest.raises(ledger.MissingKey):
        with db.atomic():
            ledger.add_many(db, "job_runs", _runs(db, 3))
    assert db.execute("SELECT COUNT(*) FROM job_runs").fetchone()[0] == 0

# --- the command -----------------------------------------------------------------------------------------

def test_the_command_verifies_with_and_without_anchors_and_names_each_problem(copy, capsys):
    path = example_config(copy, SANDBOX_AUDIT_KEY, **{'path = "var/xiaowei.db"': 'path = "xiaowei.db"'})
    assert load_config(path).storage_path == copy / "xiaowei.db"
    assert main(["audit", "verify", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("核验通过：审计链 ") and "链尾未核对：请加 --anchors" in out
    assert main(["audit", "verify", "--anchors", str(copy / "xiaowei.anchors"), "--config", str(path)]) == 0
    assert "链尾已与 1 个锚点核对。" in capsys.readouterr().out
    tampered(copy, sql("UPDATE nags SET userids = '[]' WHERE id = 1"))
    assert main(["audit", "verify", "--config", str(path)]) == 1
    out = capsys.readouterr().out
    assert "发现 1 处问题" in out and "  - 催办记录 #1–#2：其中有记录内容与审计链记录的不符（被改动）" in out


def test_the_command_refuses_to_verify_without_a_key(tmp_path, capsys):
    path = example_config(tmp_path)
    assert main(["audit", "verify", "--config", str(path)]) == 2
    assert "找不到审计密钥" in capsys.readouterr().err
    assert not (tmp_path / ledger.KEY_FILE).exists()


def test_a_sandbox_config_never_writes_beside_the_installed_package(config, tmp_path):
    assert config.audit.key == SANDBOX_AUDIT_KEY and config.audit.anchor_file == tmp_path / "xiaowei.anchors"


def test_records_from_before_the_ledger_are_sealed_once_at_the_first_keyed_start(tmp_path, capsys):
    from bot.schema import MIGRATIONS
    path = tmp_path / "var/xiaowei.db"                              # where the example configuration keeps it
    old = connect(path, migrate=False)
    MIGRATIONS.apply(old, stop_before="0005_audit_chain")          # a database from before the upgrade
    at = "2026-11-30T10:00:00+08:00"
    detail = json.dumps({"note": "", "state": {"kind": "help", "status": "open", "level": "village", "due_at": at},
                         "intake": {"number": "101", "town": "翠江镇", "village": "城南村", "kind": "help",
                                    "text": "路灯坏了", "requester": "r", "received_at": at}},
                        ensure_ascii=False, sort_keys=True)
    with old.atomic():
        old.execute("INSERT INTO messages (channel, msgid, chattype, sender, text, received_at, status) "
                    "VALUES ('aibot', 'm1', 'group', 'r', '路灯坏了', ?, 'done')", [at])
        old.execute("INSERT INTO cases (id, number, message_id, town, village, kind, text, requester, received_at) "
                    "VALUES (1, '101', 1, '翠江镇', '城南村', 'help', '路灯坏了', 'r', ?)", [at])
        old.execute("INSERT INTO events (case_id, at, actor, action, detail, prev_hash, hash) VALUES (1, ?, '小微', "
                    "'opened', ?, ?, ?)", [at, detail, ledger.GENESIS,
                                           chain_hash(ledger.GENESIS, 1, at, "小微", "opened", detail)])
        old.execute("INSERT INTO case_state (case_id, kind, status, level, due_at, updated_at) "
                    "VALUES (1, 'help', 'open', 'village', ?, ?)", [at, at])
    old.close()
    assert check(path) != []                                        # not sealed yet (and verify seals nothing)
    assert main(["run-job", "duty_notice", "--dry-run", "--at", "2026-12-01T08:00+08:00",
                 "--config", str(example_config(tmp_path))]) == 0
    assert one(sqlite3.connect(path), "SELECT COUNT(*) FROM ledger") == 0   # a rehearsal adopts nothing
    connect(path, audit_key=KEY).close()                            # the first start with the key
    assert check(path) == []
    connect(path, audit_key=KEY).close()                            # later starts adopt nothing again
    raw = sqlite3.connect(path)
    assert one(raw, "SELECT COUNT(*) FROM ledger") == 3
    tampered(path.parent, sql("UPDATE messages SET text = '没什么事'"))
    assert check(path) == ["收到的消息 #1：内容与审计链记录的不符（被改动）"]


def test_check_config_says_where_the_audit_key_comes_from(tmp_path, capsys):
    path = example_config(tmp_path)
    assert main(["check-config", "--config", str(path)]) == 0
    assert f"审计密钥：未配置，首次启动时生成 {tmp_path / ledger.KEY_FILE}" in capsys.readouterr().out
    ledger.signing_key(load_config(path), create=True)
    assert main(["check-config", "--config", str(path)]) == 0
    assert f"审计密钥：使用密钥文件 {tmp_path / ledger.KEY_FILE}" in capsys.readouterr().out
