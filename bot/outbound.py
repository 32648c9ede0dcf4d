"""Ways out, as used inside a write transaction: what a handler or job says is committed with what it did,
and each send carries a dedupe key so that re-running the same work after a crash sends nothing twice.

This is also the one choke point every outbound message passes, and it knows each message's audience: a
village group, a person, a town's inspectors' group, the admins. Clue text, clue numbers and clue status may
reach only the clue's town inspectors and the reporter's own private chat; anything else is refused here, and
the refusal rolls the whole transaction back (the handler's error path then alerts the admins, without text)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlite_utils import Database

from bot.config import Config, Town, Village
from bot.inbox import Message
from bot.outbox import ALERT_PREFIX, APP_MARKDOWN_LIMIT, enqueue, markdown_payload, text_payload
from bot.storage import insert_once

CLUE_NUMBER = re.compile(r"J\d{4}-\d{3,}", re.I)
WINDOW = 10          # characters of a clue's text that, found in a message, count as quoting it
_SPACE = re.compile(r"\s+")


class ConfidentialityBreach(RuntimeError):
    """A message would carry a clue to someone who may not see it. Never caught by the sender."""


@dataclass(frozen=True)
class Audience:
    kind: str            # group | person | inspectors | admins
    name: str            # village name, userid or town name
    private: bool = True  # a person reached in their own private chat (not through a group's response_url)


@dataclass(frozen=True)
class _Clue:
    number: str
    town: str
    requester: str
    windows: frozenset[str]


class Outgoing:
    def __init__(self, db: Database, config: Config, now: datetime, key: str):
        self.db, self.config, self.now, self.key = db, config, now, key
        self._n = 0
        self.queued = 0          # rows this transaction added to the outbox: the sender is woken only for those
        self._clues: list[_Clue] | None = None

    def _dedupe(self) -> str:
        self._n += 1
        return f"{self.key}:{self._n}"

    # --- where a message goes ---------------------------------------------------------------------------
    def reply(self, msg: Message, text: str) -> None:
        """Answer where the message came from: the AI bot's response_url, the member privately, or the group."""
        if msg.channel == "aibot" and msg.response_url:
            audience = Audience("group", msg.village.name) if msg.in_group and msg.village else \
                Audience("person", msg.sender, private=not msg.in_group)
            # A response_url takes one post; if that post's fate is unknown, the answer goes where the message
            # came from instead: the village's group, or the member privately (never a private chat's answer
            # into a group).
            fallback = (("robot", msg.village.webhook_key) if msg.in_group and msg.village is not None
                        else ("app", msg.sender))
            self._put(audience, "response", msg.response_url, markdown_payload(text), text, fallback=fallback)
        elif msg.in_group and msg.village is not None:
            self.group(msg.village, text)
        else:
            self.members([msg.sender], text)

    def group(self, village: Village, text: str, *, mentions: Iterable[str] = (), markdown: bool = False) -> None:
        payload = markdown_payload(text) if markdown else text_payload(text, tuple(mentions))
        self._put(Audience("group", village.name), "robot", village.webhook_key, payload, text)

    def inspectors_group(self, town: Town, text: str) -> None:
        """The robot of the town inspectors' own group (not a village group)."""
        self._put(Audience("inspectors", town.name), "robot", town.inspector_webhook_key, markdown_payload(text), text)

    def members(self, userids: Iterable[str], text: str, *, markdown: bool = False) -> None:
        # One row per member: each member is its own lane (WeCom limits 30 a minute to one member).
        for userid in dict.fromkeys(userids):
            body = (markdown_payload(text, APP_MARKDOWN_LIMIT) if markdown
                    else {"msgtype": "text", "text": {"content": text}})
            self._put(Audience("person", userid), "app", userid, {"touser": userid, **body}, text)

    def alert_admins(self, key: str, text: str) -> bool:
        """Tell the admins once per key (include the day in the key for a daily reminder), by every channel
        configured: each admin's app message and the IT officers' group robot. Every row's dedupe key starts
        with ALERT_PREFIX, so that an alert that cannot be delivered is logged, not alerted about again."""
        new = insert_once(self.db, "alerts", {"key": key, "text": text, "created_at": self.now.isoformat()})
        if new:
            content = f"【小微告警】{text}"
            for userid in self.config.admins:
                self._put(Audience("admins", userid), "app", userid, {"touser": userid, **text_payload(content)},
                          text, dedupe=f"{ALERT_PREFIX}{key}:{userid}")
            if self.config.admin_webhook_key:
                self._put(Audience("admins", "robot"), "robot", self.config.admin_webhook_key,
                          text_payload(content), text, dedupe=f"{ALERT_PREFIX}{key}:robot")
        return new

    # --- the choke point --------------------------------------------------------------------------------
    def _put(self, audience: Audience, kind: str, target: str, payload: dict, text: str,
             dedupe: str | None = None, **extra) -> None:
        for clue in self._mentioned(text):
            if not self._may_see(audience, clue):
                raise ConfidentialityBreach(f"a clue would reach a {audience.kind} audience; refused")
        if enqueue(self.db, kind=kind, target=target, payload=payload, now=self.now, dedupe=dedupe or self._dedupe(),
                   **extra) is not None:
            self.queued += 1

    def _may_see(self, audience: Audience, clue: _Clue) -> bool:
        if audience.kind == "inspectors":
            return audience.name == clue.town
        if audience.kind == "person":
            town = self.config.town(clue.town) if clue.town in {t.name for t in self.config.towns} else None
            inspector = town is not None and any(p.userid == audience.name for p in town.inspectors)
            return inspector or (audience.private and audience.name == clue.requester)
        return False   # a village group, the admins

    def _mentioned(self, text: str) -> list[_Clue]:
        """Clues a message names by number or quotes (a run of WINDOW characters of the clue's words)."""
        numbers = {n.upper() for n in CLUE_NUMBER.findall(text)}
        flat = _SPACE.sub("", text)
        found = [c for c in self._known_clues() if c.number in numbers or any(w in flat for w in c.windows)]
        if numbers - {c.number for c in found}:
            # A clue number that names no clue still looks like one: a village must not learn the numbering.
            found.append(_Clue(sorted(numbers)[0], "", "", frozenset()))
        return found

    def _known_clues(self) -> list[_Clue]:
        if self._clues is None:
            rows = self.db.execute(
                "SELECT c.number, c.town, c.requester, c.text FROM cases c JOIN case_state s ON s.case_id = c.id "
                "WHERE c.kind = 'report' OR s.kind = 'report'").fetchall()
            self._clues = [_Clue(number.upper(), town, requester, _windows(text)) for number, town, requester, text
                           in rows]
        return self._clues


def _windows(text: str) -> frozenset[str]:
    flat = _SPACE.sub("", text)
    if len(flat) < WINDOW:
        return frozenset([flat]) if len(flat) >= 6 else frozenset()
    return frozenset(flat[i:i + WINDOW] for i in range(len(flat) - WINDOW + 1))
