"""What has not reached its recipient yet, in words an IT officer can act on: the admin alert for a parked row,
the listing of pending and parked rows by recipient, and putting parked rows back in line.

Recipients are named from the configuration (a village's group, a person's name), never by their ids or
anything else about them; what went to the town's inspectors is not quoted (clues stay with the inspectors)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from bot.channels.wecom import PERMANENT
from bot.config import Config
from bot.outbox import PARKED, content_of
from bot.roles import Roles
from bot.wording import snippet

KINDS = {"robot": "群消息", "app": "私信", "response": "回复", "kf": "微信客服回复", "card_update": "卡片更新"}
WITHHELD = "（发给纪委的内容不在此显示）"
WORDS = 20


@dataclass(frozen=True)
class Recipient:
    label: str          # 城南村群, 党支部书记张建, 管理员群 …
    confidential: bool  # the town's inspectors: their messages are not quoted


def recipient(config: Config, kind: str, target: str) -> Recipient:
    if kind == "robot":
        for town in config.towns:
            if target and target == town.inspector_webhook_key:
                return Recipient(f"{town.name}纪委群", True)
            for village in town.villages:
                if target == village.webhook_key:
                    return Recipient(f"{village.name}群", False)
        if target and target == config.admin_webhook_key:
            return Recipient("管理员群", False)
        return Recipient("未登记的群机器人", False)
    if kind == "kf":    # a resident's private chat: not quoted, since it may answer a report
        return Recipient("一位群众（微信客服）", True)
    roles = Roles(config)
    person = roles.person(target)
    if person is not None:
        return Recipient(person.display, roles.is_inspector(target))
    return Recipient("管理员" if target in config.admins else "一位未登记的成员", False)


def recipient_of(config: Config, row: dict) -> Recipient:
    """Who a row is for; a response goes back into the chat it came from, which its fallback names."""
    if row["kind"] != "response":
        return recipient(config, row["kind"], row["target"])
    if row.get("fallback_kind") and row.get("fallback_target"):
        return recipient(config, row["fallback_kind"], row["fallback_target"])
    return Recipient("一个会话", False)


def reason(error: str | None) -> str:
    """A stored error in words: WeCom's refusals by what they mean, anything else as a failure to get through."""
    if not error:
        return "原因未记录"
    if found := re.match(r"errcode (-?\d+)", error):
        code = int(found[1])
        return f"{PERMANENT[code]}，错误码 {code}" if code in PERMANENT else f"企业微信返回错误码 {code}"
    if "结果不明" in error:
        return "回复地址只能用一次，上次发送结果不明，为免重复没有再发"
    return f"一直连不上企业微信（{error.split(':')[0]}）"


def first_words(config: Config, row: dict) -> str:
    if row["kind"] == "kf":
        return "（群众私信的内容不在此显示）"
    if recipient_of(config, row).confidential:
        return WITHHELD
    return f"「{snippet(content_of(json.loads(row['payload'])), WORDS)}」"


def parked_alert(config: Config, row: dict) -> str:
    """The alert text for a parked row: to whom, what kind, why, how it began, and how to resend it."""
    who = recipient_of(config, row)
    return (f"发往{who.label}的{KINDS.get(row['kind'], row['kind'])}（编号 {row['id']}）已停止发送："
            f"{reason(row['last_error'])}，共尝试 {row['attempts']} 次。内容开头：{first_words(config, row)}。"
            f"问题解决后运行 xiaowei outbox retry {row['id']} 重发；xiaowei outbox 可查看所有未送达消息。")


@dataclass(frozen=True)
class Backlog:
    """The rows of one status waiting for one recipient."""
    status: str          # pending | parked
    kind: str
    label: str
    count: int
    oldest: datetime
    last_error: str | None
    words: str           # first words of the oldest row
    ids: tuple[int, ...]

    @property
    def kind_name(self) -> str:
        return KINDS.get(self.kind, self.kind)


def backlog(db: Database, config: Config) -> list[Backlog]:
    """Pending and parked rows grouped by recipient, oldest first; sent and rerouted rows are done."""
    groups: dict[tuple[str, str, str], list[dict]] = {}
    labels: dict[tuple[str, str], str] = {}
    found = db.execute(
        "SELECT * FROM outbox WHERE status IN ('pending', 'sending', ?, ?) ORDER BY id", list(PARKED))
    columns = [c[0] for c in found.description]
    for values in found.fetchall():
        row = dict(zip(columns, values))
        status = "parked" if row["status"] in PARKED else "pending"
        target = row["fallback_target"] or "" if row["kind"] == "response" else row["target"]
        groups.setdefault((status, row["kind"], target), []).append(row)
    result = []
    for (status, kind, target), rows in groups.items():
        errors = [r["last_error"] for r in rows if r["last_error"]]
        result.append(Backlog(
            status=status, kind=kind,
            label=labels.setdefault((kind, target), recipient_of(config, rows[0]).label),
            count=len(rows), oldest=datetime.fromisoformat(rows[0]["created_at"]),
            last_error=errors[-1] if errors else None, words=first_words(config, rows[0]),
            ids=tuple(r["id"] for r in rows)))
    return sorted(result, key=lambda b: (b.status != "parked", b.oldest))


def retry(db: Database, now: datetime, ids: list[int] | None = None) -> list[int]:
    """Put parked rows (all of them when ids is None) back in line, due now, with a fresh retry window.
    Returns the ids put back; an id that is not parked is left as it is."""
    where, args = ("", []) if ids is None else (f" AND id IN ({', '.join('?' * len(ids))})", list(ids))
    chosen = [r[0] for r in db.execute(
        f"SELECT id FROM outbox WHERE status IN (?, ?){where} ORDER BY id", [*PARKED, *args]).fetchall()]
    for row_id in chosen:
        db.execute("UPDATE outbox SET status = 'pending', not_before = ?, attempts = 0, parked_at = NULL, "
                   "first_failed_at = NULL, first_error = NULL WHERE id = ?", [now.isoformat(), row_id])
    return chosen
