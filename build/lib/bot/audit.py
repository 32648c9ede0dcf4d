"""History that cannot be edited quietly (`xiaowei audit verify`): finds case history edited, deleted or reordered behind the bot's back, by walking the
hash chain, comparing each case's intake facts with its first event, and re-folding every case's state."""
from __future__ import annotations

import json

from sqlite_utils import Database

from bot.cases import GENESIS, chain_hash

STATE_COLUMNS = ("kind", "status", "level", "due_at", "escalate_by", "assignee", "first_response_at",
                 "answered_at", "rating", "supervised")
INTAKE_COLUMNS = ("number", "town", "village", "kind", "text", "requester", "received_at")


def verify(db: Database) -> list[str]:
    problems: list[str] = []
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
        if row["action"] == "opened":
            intake[row["case_id"]] = detail.get("intake", {})
            folded[row["case_id"]] = {c: None for c in STATE_COLUMNS} | {"supervised": 0}
        folded.setdefault(row["case_id"], {}).update(detail.get("state", {}))
    for case in db.query("SELECT * FROM cases ORDER BY id"):
        facts = intake.get(case["id"])
        if facts is None:
            problems.append(f"诉求 {case['number']}：找不到登记事件")
        elif any(str(case[c]) != str(facts.get(c)) for c in INTAKE_COLUMNS):
            problems.append(f"诉求 {case['number']}：登记内容与登记事件不符（被改动）")
    for state in db.query("SELECT * FROM case_state ORDER BY case_id"):
        expected = folded.get(state["case_id"], {})
        if any(str(state[c]) != str(expected.get(c, None if c != "supervised" else 0)) for c in STATE_COLUMNS):
            problems.append(f"诉求 #{state['case_id']}：当前状态与历史记录推算的不一致")
    return problems
