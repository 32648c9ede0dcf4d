"""History that cannot be edited quietly (`xiaowei audit verify`). Three layers, each catching what the one before
cannot: the events' own hash chain and the re-fold of every case's state; the keyed ledger, which holds one sealed
entry per recorded fact, or per run of facts one statement wrote (cases, events, messages, sent outbox rows, nags,
corrections, job runs, 公示 and their reminders); and the anchors,
the chain's head written outside the database each morning, which catch a tail cut off the ledger itself."""
from __future__ import annotations

import json

from sqlite_utils import Database

from bot import ledger
from bot.cases import GENESIS, chain_hash

STATE_COLUMNS = ("kind", "status", "level", "due_at", "escalate_by", "assignee", "first_response_at",
                 "answered_at", "rating", "supervised", "updated_at", "stage", "outcome", "department")
INTAKE_COLUMNS = ("number", "town", "village", "kind", "text", "requester", "received_at")
Sealed = tuple[int | None, str]     # an entry's last row id (None: it seals one row) and digest

TABLE_NAMES = {"messages": "收到的消息", "cases": "诉求登记", "events": "事件", "outbox": "已发消息",
               "nags": "催办记录", "corrections": "改类纠正", "job_runs": "定时任务记录",
               "draft_nags": "草稿催办记录", "publicity": "村务公示", "publicity_nags": "公开提醒记录",
               "message_extras": "消息的引用和附件"}


def verify(db: Database, key: bytes, anchors: list[dict] | None = None) -> list[str]:
    """Every problem found, one line each (Chinese, naming the case number or the table and row); [] when the
    history is whole. `anchors` (ledger.read_anchors) also checks the tail; without them the tail is unchecked."""
    problems: list[str] = []
    numbers = _events(db, problems)
    entries = _ledger(db, key, problems)
    _coverage(db, entries, numbers, problems)
    if anchors:
        _anchors(db, anchors, problems)
    return problems


def _events(db: Database, problems: list[str]) -> dict[int, str]:
    """The events chain, the intake facts and the state re-fold; returns case numbers by case id."""
    prev = GENESIS
    folded: dict[int, dict] = {}
    intake: dict[int, dict] = {}
    for row in db.query("SELECT * FROM events ORDER BY id"):
        if row["prev_hash"] != prev:
            problems.append(f"事件 #{row['id']}：与前一条事件接不上（前面的事件被删除或顺序被调换）")
        if chain_hash(row["prev_hash"], row["case_id"], row["at"], row["actor"], row["action"],
                      row["detail"]) != row["hash"]:
            problems.append(f"事件 #{row['id']}：内容与记录时不符（被改动）")
        prev = row["hash"]
        detail = json.loads(row["detail"])
        state = detail.get("state", {})
        if row["action"] == "opened":
            intake[row["case_id"]] = detail.get("intake", {})
            folded[row["case_id"]] = {c: None for c in STATE_COLUMNS} | {"supervised": 0}
        case = folded.setdefault(row["case_id"], {})
        case.update(state)
        if state or row["action"] == "opened":
            case["updated_at"] = row["at"]      # cases.append stamps only an event that changes state
    numbers = {case_id: str(facts.get("number", f"#{case_id}")) for case_id, facts in intake.items()}
    present = set()
    for case in db.query("SELECT * FROM cases ORDER BY id"):
        present.add(case["id"])
        numbers[case["id"]] = case["number"]
        facts = intake.get(case["id"])
        if facts is None:
            problems.append(f"诉求 {case['number']}：找不到登记事件")
        elif any(str(case[c]) != str(facts.get(c)) for c in INTAKE_COLUMNS):
            problems.append(f"诉求 {case['number']}：登记内容与登记事件不符（被改动）")
    for case_id in folded.keys() - present:
        problems.append(f"诉求 {numbers.get(case_id, f'#{case_id}')}：有历史事件，但登记记录不见了（被删除）")
    states = set()
    for state in db.query("SELECT * FROM case_state ORDER BY case_id"):
        states.add(state["case_id"])
        expected = folded.get(state["case_id"], {})
        if any(str(state[c]) != str(expected.get(c, None if c != "supervised" else 0)) for c in STATE_COLUMNS):
            problems.append(f"诉求 {numbers.get(state['case_id'], '#' + str(state['case_id']))}："
                            "当前状态与历史记录推算的不一致")
    for case_id in folded.keys() - states:
        problems.append(f"诉求 {numbers.get(case_id, f'#{case_id}')}：当前状态记录不见了（被删除）")
    return numbers


def _ledger(db: Database, key: bytes, problems: list[str]) -> dict[tuple[str, int], list[Sealed]]:
    """Walks the keyed chain; returns each entry's (last row id, digest) by (table, first row id): the last row id
    is None for an entry of one row."""
    prev, bad, total = GENESIS, [], 0
    entries: dict[tuple[str, int], list[Sealed]] = {}
    for row in db.query("SELECT * FROM ledger ORDER BY id"):
        total += 1
        if row["prev_hash"] != prev:
            problems.append(f"审计链第 {row['id']} 条：与前一条接不上（有记录被删除或调换）")
        if ledger.seal(key, row["prev_hash"], row["tbl"], row["row_id"], row["digest"],
                       row["last_row_id"]) != row["hash"]:
            bad.append(row["id"])
        prev = row["hash"]
        entries.setdefault((row["tbl"], row["row_id"]), []).append((row["last_row_id"], row["digest"]))
    if bad and len(bad) == total:
        problems.append("审计链全部签名不符：审计密钥不是写入时的那把，或整条链被重新计算过")
    else:
        problems += [f"审计链第 {n} 条：签名不符（被改写，或不是用本机审计密钥写入的）" for n in bad]
    return entries


def _coverage(db: Database, entries: dict[tuple[str, int], list[Sealed]], numbers: dict[int, str],
              problems: list[str]) -> None:
    """Every fact row is sealed exactly once, by an entry of its own or of a run it lies in, whose digest matches
    it, and every entry still has its rows."""
    for table in ledger.FACTS:          # every kind of fact, so that a new one cannot be left out of the check
        name = TABLE_NAMES[table]
        where = ledger.RECORDED.get(table)
        rows = {r[0]: ledger.digest(r[1]) for r in db.execute(
            f"SELECT id, {ledger.facts_sql(table)} FROM {table}" + (f" WHERE {where}" if where else ""))}
        # Each row id's seals: the digest of its own entry, or None for a run's (checked below, run by run).
        sealed: dict[int, list[str | None]] = {}
        runs: dict[tuple[int, int], str] = {}
        for (t, row_id), found in entries.items():
            if t != table:
                continue
            for last, sealed_digest in found:
                if last is None:
                    sealed.setdefault(row_id, []).append(sealed_digest)
                    continue
                runs[row_id, last] = sealed_digest
                for n in range(row_id, last + 1):
                    sealed.setdefault(n, []).append(None)

        def label(row_id: int) -> str:
            return f"诉求 {numbers.get(row_id, f'#{row_id}')}" if table == "cases" else f"{name} #{row_id}"
        for row_id in sorted(rows.keys() | sealed.keys()):
            seals = sealed.get(row_id, [])
            if row_id not in rows:
                gone = "被删除，或被改回未发送" if table == "outbox" else "被删除"
                problems.append(f"{label(row_id)}：记录{gone}（审计链里有它）")
            elif not seals:
                problems.append(f"{label(row_id)}：审计链里没有这条记录（不是小微写入的）")
            elif len(seals) > 1:
                problems.append(f"{label(row_id)}：在审计链里出现了 {len(seals)} 次")
            elif seals[0] is not None and seals[0] != rows[row_id]:
                problems.append(f"{label(row_id)}：内容与审计链记录的不符（被改动）")
        for (low, high), sealed_digest in sorted(runs.items()):
            if all(n in rows for n in range(low, high + 1)) and \
                    ledger.run_digest(rows[n] for n in range(low, high + 1)) != sealed_digest:
                problems.append(f"{name} #{low}–#{high}：其中有记录内容与审计链记录的不符（被改动）")


def _anchors(db: Database, anchors: list[dict], problems: list[str]) -> None:
    count = ledger.head(db)[0]
    for anchor in anchors:
        if anchor["count"] == 0:
            continue            # anchored before anything was recorded
        row = db.execute("SELECT hash FROM ledger WHERE id = ?", [anchor["count"]]).fetchone()
        if row is None:
            problems.append(f"{anchor['day']} 的锚点：审计链当时已有 {anchor['count']} 条，现在只剩 {count} 条"
                            "（尾部被删除）")
        elif row[0] != anchor["head"]:
            problems.append(f"{anchor['day']} 的锚点：第 {anchor['count']} 条与当天记下的链尾不符"
                            "（链被截断后重写或重算）")
