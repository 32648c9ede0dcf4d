"""Ways out, as used inside a write transaction: what a handler or job says is committed with what it did,
and each send carries a dedupe key so that re-running the same work after a crash sends nothing twice.

This is also the one choke point every outbound message passes, and it knows each message's audience: a
village group, a person, a town's inspectors' group, the admins. Clue text, clue numbers and clue status may
reach only the clue's town inspectors and the reporter's own private chat; anything else is refused here, and
the refusal rolls the whole transaction back (the handler's error path then alerts the admins, without text)."""
from __future__ import annotations

import base64
import hashlib
import re
import weakref
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable

from sqlite_utils import Database

from bot import drafts, duty, kf_window
from bot.config import Config, Person, Town, Village
from bot.inbox import Message
from bot.outbox import ALERT_PREFIX, APP_MARKDOWN_LIMIT, clip, enqueue, markdown_payload, text_payload
from bot.storage import insert_once

CLUE_NUMBER = re.compile(r"J\d{4}-\d{3,}", re.I)
GROUP_SEND_LIMIT = 4000   # bytes: add_msg_template's text.content
WINDOW = 10          # characters of a clue's text that, found in a message, count as quoting it
# The one thing about a clue a group may ever read: a cadre found wrongly accused is cleared (澄清正名). Built here,
# at the choke point, from the organ and the cadre's configured post and name only: no clue text, number or reporter.
CLEARANCE = "【澄清正名】经{organ}核实，群众反映{person}同志的问题不属实，特此澄清正名。"


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


class _Clues:
    """The county's clues, indexed by number and by each window of their words, and who inspects which town.
    Clue numbers run per town, so a province has hundreds of each number: the clue of a number that an audience
    may see is looked up by (number, town) and (number, reporter), not searched for among all of that number."""

    def __init__(self, clues: list[_Clue], config: Config):
        self.by_number: dict[str, list[_Clue]] = {}
        self.by_town: dict[tuple[str, str], list[_Clue]] = {}
        self.by_requester: dict[tuple[str, str], list[_Clue]] = {}
        by_window: dict[str, list[_Clue]] = {}     # each window of their words (only to build by_start)
        for clue in clues:
            self.by_number.setdefault(clue.number, []).append(clue)
            self.by_town.setdefault((clue.number, clue.town), []).append(clue)
            self.by_requester.setdefault((clue.number, clue.requester), []).append(clue)
            for window in clue.windows:
                by_window.setdefault(window, []).append(clue)
        # Windows are WINDOW characters, or a whole short clue (6 to 9): all are found in one pass over a message
        # by their first `least` characters, whatever their lengths.
        self.least = min(map(len, by_window), default=0)
        self.by_start: dict[str, list[tuple[str, list[_Clue]]]] = {}
        for window, found in by_window.items():
            self.by_start.setdefault(window[:self.least], []).append((window, found))
        self.inspecting: dict[str, set[str]] = {}     # userid → the towns whose clues they may see
        for town in config.towns:
            for person in town.inspectors:
                self.inspecting.setdefault(person.userid, set()).add(town.name)
        for person in config.county.commission:        # the county commission sees every town's clues
            self.inspecting.setdefault(person.userid, set()).update(t.name for t in config.towns)

    def candidates(self, number: str, audience: Audience) -> list[_Clue]:
        """The clues of this number that `audience` might see (Outgoing._may_see decides): of its town if it is
        a town's inspectors, of the towns it inspects or its own reports if a person, any without a town."""
        found = list(self.by_town.get((number, ""), ()))
        if audience.kind == "inspectors":
            found += self.by_town.get((number, audience.name), ())
        elif audience.kind == "person":
            for town in self.inspecting.get(audience.name, ()):
                found += self.by_town.get((number, town), ())
            found += self.by_requester.get((number, audience.name), ())
        return found


class Outgoing:
    def __init__(self, db: Database, config: Config, now: datetime, key: str):
        self.db, self.config, self.now, self.key = db, config, now, key
        self._n = 0
        self.queued = 0          # rows this transaction added to the outbox: the sender is woken only for those
        self._clues: _Clues | None = None
        self._root = self

    def sibling(self, key: str) -> "Outgoing":
        """Another sender in the same transaction with its own dedupe keys (many targets, one commit), sharing
        the clue list: read once per transaction rather than once per village."""
        twin = Outgoing(self.db, self.config, self.now, key)
        twin._clues = self._known_clues()
        twin._root = self._root
        return twin

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
        elif msg.channel == "kf":
            self.kf_reply(msg.sender, text)
        elif msg.in_group and msg.village is not None:
            self.group(msg.village, text)
        else:
            self.members([msg.sender], text)

    def kf_reply(self, external_userid: str, text: str) -> bool:
        """A resident who wrote through 微信客服, privately, if WeCom's window allows it now; False when the reply
        was kept instead, to go out when the resident next writes (bot/kf_window.py says why and what then)."""
        audience = Audience("person", external_userid)
        self._check(audience, text)
        found = kf_window.customer(self.db, external_userid)
        why = kf_window.closed(self.db, found, self.now) if found else "48h"
        if why is not None:
            kf_window.hold(self.db, external_userid, text, why, self.now)
            return False
        self._put(audience, "kf", external_userid, {"touser": external_userid, "open_kfid": found.open_kfid,
                                                    **text_payload(text)}, text)
        return True

    def card(self, userid: str, card: dict, text: str, *, not_before: datetime | None = None) -> None:
        """An app template card to one member; `text` is everything the card shows, checked like any message.
        not_before: held until then, in the member's lane for held rows (as `members`)."""
        later = not_before is not None and not_before > self.now
        self._put(Audience("person", userid), "app", userid,
                  {"touser": userid, "msgtype": "template_card", "template_card": card}, text,
                  **({"not_before": not_before, "lane": f"app:{userid}:later"} if later else {}))

    def card_done(self, userid: str, response_code: str, replace_name: str) -> None:
        """Grey out the buttons of the card this member tapped (update_template_card, its code used once)."""
        self._put(Audience("person", userid), "card_update", userid,
                  {"userids": [userid], "response_code": response_code, "button": {"replace_name": replace_name}},
                  replace_name)

    def group(self, village: Village, text: str, *, mentions: Iterable[str] = (), markdown: bool = False,
              post: str = "answer", case_id: int | None = None, purpose: str = "", day: date | None = None) -> None:
        """Say something in a village's group, the way that kind of group allows (README, "Group kinds").
        post: "answer" (intake, claim, result: the group should see it now), "morning" (the duty notice and the
        day's positive item), "reminder" (a deadline reminder, which customer groups do without: its cadres
        are pressed privately). case_id and purpose (intake | claim | progress | result | passed_up) say which
        case an answer is about: a customer group's draft of it is then followed until a cadre posts it.
        day: the day whose group send a customer group's "morning" post waits for (default today's: a 公示
        posted after the morning's send waits for tomorrow's)."""
        audience = Audience("group", village.name)
        if village.group == "internal":
            payload = markdown_payload(text) if markdown else text_payload(text, tuple(mentions))
            self._put(audience, "robot", village.webhook_key, payload, text)
        elif village.group == "bridge":
            # The county's gateway posts it into the plain WeChat group, in order (pushed, or pulled by id).
            self._put(audience, "bridge", village.chat_id, {"chat_id": village.chat_id, "text": text,
                                                           "mentions": list(mentions)}, text,
                      status="pending" if self.config.bridge.push_url else "gateway")
        elif post == "morning":
            # No API posts into a customer group without its owner's tap: the morning's posts wait for the day's
            # one group send (schedules/group_send.py).
            self._check(audience, text)
            self.db["group_posts"].insert({"village": village.name, "day": (day or self.now.date()).isoformat(),
                                           "text": text, "created_at": self.now.isoformat()})
        elif post == "answer":
            self._draft(village, text, audience, case_id, purpose)

    def group_send(self, village: Village, text: str) -> None:
        """The day's one owner-confirmed group send into a customer group (externalcontact/add_msg_template)."""
        payload = {"sender": village.group_owner, "chat_id_list": [village.chat_id],
                   "text": {"content": clip(text, GROUP_SEND_LIMIT)}}
        before = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()[0]
        self._put(Audience("group", village.name), "groupsend", village.chat_id, payload, text)
        row = self.db.execute("SELECT id FROM outbox WHERE id > ? AND kind = 'groupsend' ORDER BY id DESC LIMIT 1",
                              [before]).fetchone()
        if row:
            insert_once(self.db, "group_sends", {"village": village.name, "day": self.now.date().isoformat(),
                                                 "outbox_id": row[0]})

    def _draft(self, village: Village, text: str, audience: Audience, case_id: int | None, purpose: str) -> None:
        """An answer a customer group should see goes to the duty cadre, ready to paste, with one line of how.
        One about a case is kept (bot/drafts.py) until the chat archive shows a cadre posting it."""
        self._check(audience, text)    # it is meant for the group: the group's rules apply
        draft = f"【请发到{village.name}群】复制下面这段，发到群里：\n{text}"
        cadres = duty.responsible(self.db, village, self.now.date())
        for cadre in cadres:
            if enqueue(self.db, kind="app", target=cadre.userid, now=self.now, dedupe=self._dedupe(),
                       payload={"touser": cadre.userid, **text_payload(draft)}) is not None:
                self._root.queued += 1
        if case_id is not None:
            drafts.record(self.db, village=village.name, text=text, handed_to=[c.userid for c in cadres],
                          now=self.now, case_id=case_id, purpose=purpose)

    def clearance(self, village: Village, organ: str, person: Person) -> None:
        """Publish a 澄清正名 notice in the cleared cadre's village group; it still passes the clue check."""
        self.group(village, CLEARANCE.format(organ=organ, person=person.display), mentions=[person.userid])

    def inspectors_group(self, town: Town, text: str) -> None:
        """The robot of the town inspectors' own group (not a village group)."""
        self._put(Audience("inspectors", town.name), "robot", town.inspector_webhook_key, markdown_payload(text), text)

    def inspectors_image(self, town: Town, png: bytes) -> None:
        """A picture (the digest's chart) to the robot of the town inspectors' own group (path/99110)."""
        payload = {"msgtype": "image", "image": {"base64": base64.b64encode(png).decode(),
                                                 "md5": hashlib.md5(png).hexdigest()}}
        self._put(Audience("inspectors", town.name), "robot", town.inspector_webhook_key, payload, "")

    def members(self, userids: Iterable[str], text: str, *, markdown: bool = False,
                not_before: datetime | None = None) -> None:
        """One row per member: each member is its own lane (WeCom limits 30 a minute to one member). not_before:
        held until then; such rows wait in a lane of their own, so that an urgent alert is never queued behind
        one waiting for the morning."""
        later = not_before is not None and not_before > self.now
        for userid in dict.fromkeys(userids):
            body = (markdown_payload(text, APP_MARKDOWN_LIMIT) if markdown
                    else {"msgtype": "text", "text": {"content": text}})
            self._put(Audience("person", userid), "app", userid, {"touser": userid, **body}, text,
                      **({"not_before": not_before, "lane": f"app:{userid}:later"} if later else {}))

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
        self._check(audience, text)
        if enqueue(self.db, kind=kind, target=target, payload=payload, now=self.now, dedupe=dedupe or self._dedupe(),
                   **extra) is not None:
            self._root.queued += 1

    def _check(self, audience: Audience, text: str) -> None:
        for clue in self._mentioned(text, audience):
            if not self._may_see(audience, clue):
                raise ConfidentialityBreach(f"a clue would reach a {audience.kind} audience; refused")

    def _may_see(self, audience: Audience, clue: _Clue) -> bool:
        inspecting = self._known_clues().inspecting
        if not clue.town:    # a clue number with no live clue behind it (released, or never was): inspectors only
            return audience.kind == "inspectors" or (audience.kind == "person" and audience.name in inspecting)
        if audience.kind == "inspectors":
            return audience.name == clue.town
        if audience.kind == "person":
            inspector = clue.town in inspecting.get(audience.name, ())
            return inspector or (audience.private and audience.name == clue.requester)
        return False   # a village group, the admins

    def _mentioned(self, text: str, audience: Audience) -> list[_Clue]:
        """Clues a message names by number or quotes (a run of WINDOW characters of the clue's words). Clue numbers
        run per town, so a number names the clue of that number this audience may see, if there is one: another
        town's J2026-001 does not stop a town's inspectors from reading about their own."""
        numbers = {n.upper() for n in CLUE_NUMBER.findall(text)}
        flat = _flat(text)
        known = self._known_clues()
        # Every run of the message of the shortest window's length, looked up: as fast with ten thousand clues as
        # with one (the look-ups in C: a province's morning checks tens of millions of characters). Most messages
        # start no window anywhere, which one isdisjoint over the runs says; the others are looked at run by run.
        hits, size = {}, known.least
        runs = [flat[i:i + size] for i in range(len(flat) - size + 1)] if size else []
        if not known.by_start.keys().isdisjoint(runs):
            for i, starting in enumerate(map(known.by_start.get, runs)):
                for window, clues in starting or ():
                    if flat.startswith(window, i):
                        hits.update((id(c), c) for c in clues)
        found = list(hits.values())
        for number in sorted(numbers):
            named = known.by_number.get(number, [])
            # A clue number that names no clue still looks like one: a village must not learn the numbering.
            visible = [c for c in known.candidates(number, audience) if self._may_see(audience, c)]
            found += visible[:1] or named[:1] or [_Clue(number, "", "", frozenset())]
        return found

    def _known_clues(self) -> "_Clues":
        if self._clues is None:
            # Cases change only by appending to their hash-chained history, so its newest event (id and hash, which
            # chains all before it) stands for every case as it is now: while it is the same, so are the clues,
            # and a province's morning reads them once rather than once per chunk of villages.
            stamp = self.db.execute("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
            kept = _READ.get(self.db)
            if kept is not None and kept[0] == stamp and kept[1] is self.config:
                self._clues = kept[2]
                return self._clues
            # Two indexed look-ups (migration 0009) instead of an OR across the join, which scans every case.
            rows = self.db.execute(
                "SELECT c.number, c.town, c.requester, c.text FROM cases c JOIN case_state s ON s.case_id = c.id "
                "WHERE c.kind = 'report' AND s.status != 'released' UNION "
                "SELECT c.number, c.town, c.requester, c.text FROM case_state s JOIN cases c ON c.id = s.case_id "
                "WHERE s.kind = 'report' AND s.status != 'released'").fetchall()
            self._clues = _Clues([_Clue(number.upper(), town, requester, _windows(text))
                                  for number, town, requester, text in rows], self.config)
            _READ[self.db] = (stamp, self.config, self._clues)
        return self._clues


# The clue list each connection read last, with the history it was read at (Outgoing._known_clues).
_READ: "weakref.WeakKeyDictionary[Database, tuple[object, Config, _Clues]]" = weakref.WeakKeyDictionary()


def _flat(text: str) -> str:
    """The text without its whitespace, as a quote of a clue is compared (what re's \\s matches: str.isspace)."""
    return "".join(text.split())


def _windows(text: str) -> frozenset[str]:
    flat = _flat(text)
    if len(flat) < WINDOW:
        return frozenset([flat]) if len(flat) >= 6 else frozenset()
    return frozenset(flat[i:i + WINDOW] for i in range(len(flat) - WINDOW + 1))
