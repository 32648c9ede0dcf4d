"""The stand-in's customer-contact side: customer groups and their owner-confirmed 群发, group statistics,
微信客服 and the app's template cards — the endpoints, their state, and what a test makes happen on WeCom's side.
Mixed into WeComStandIn, which supplies the HTTP plumbing (_serve, _check_token, _json_body, seal_app_xml)."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any, Callable, Iterable

from aiohttp import web

from bot.clock import TZ
from bot.sandbox.wire import Reject as _Reject
from bot.sandbox.wire import cdata as _cdata

CONTACT_ENDPOINTS = (
    "groupchat_list", "groupchat_get", "add_msg_template", "get_groupmsg_task", "get_groupmsg_send_result",
    "remind_groupmsg_send", "cancel_groupmsg_send", "groupchat_statistic", "groupchat_statistic_by_day",
    "kf_add_contact_way", "kf_sync_msg", "kf_send_msg", "update_template_card",
)
GROUP_TEXT_MAX, GROUP_ATTACHMENTS_MAX = 4000, 9           # add_msg_template (path/92135)
REMINDS_PER_DAY = 3                                       # remind_groupmsg_send (path/97610)
ERR_REMIND_LIMIT = 45009  # path/97610 names no code for a 4th reminder within 24 h; this is our pick
ERR_BAD_MSGID = 40058     # no documented code for an unknown group-send msgid; our pick
STATS_DAYS_BACK, STATS_SPAN_DAYS = 180, 30                # groupchat/statistic (path/92133, 96359)
ERR_STATS_RANGE = 600018
KF_TOKEN_TTL = timedelta(minutes=10)                      # the callback Token for sync_msg (document/31078)
KF_HISTORY = timedelta(days=3)                            # sync_msg returns the last 3 days only
KF_WINDOW, KF_REPLIES = timedelta(hours=48), 5            # send_msg (path/94677)
ERR_KF_ACCOUNT, ERR_KF_QUOTA, ERR_KF_TOKEN = 95000, 95001, 95007
KF_SCENE = re.compile(r"[0-9A-Za-z_-]{0,32}")
CARD_TASK_ID = re.compile(r"[0-9A-Za-z_\-@]{1,128}")
CARD_CODE_TTL = timedelta(hours=72)                       # update_template_card (path/94888, 94945)
ERR_CARD_CODE = 40058     # no documented code for a spent/expired card response_code; our pick
ERR_TASK_ID = 42014       # a card's task_id used before, empty or too long (bot/channels/wecom.py TASK_ID_TAKEN)
KF_TEXT_MAX = 2048                                        # send_msg text.content, bytes
ContactHandler = Callable[[dict, datetime], dict]  # (JSON body, now) -> answer, after the token check


class ContactEndpoints:
    """State and endpoints for customer groups, 微信客服 and cards; WeComStandIn calls _init_contact()."""

    def _init_contact(self) -> None:
        # customer groups: what the test defines, what each group "received", the 群发 tasks
        self.customer_groups: dict[str, dict] = {}
        self.customer_group_messages: dict[str, list[dict]] = defaultdict(list)
        self.group_send_quota_per_day = 1  # 群发助手 rule "每天接收一条"; set higher to model the monthly rule
        self.group_stats: dict[tuple[str, date], dict[str, int]] = {}  # (owner, day) -> data
        self._group_sends: dict[str, dict] = {}
        self._group_receipts: dict[tuple[str, date], int] = defaultdict(int)
        # 微信客服
        self.kf_accounts: set[str] = set()
        self.kf_sent: dict[str, list[dict]] = defaultdict(list)
        self._kf_log: list[dict] = []                      # every customer message/event, in arrival order
        self._kf_tokens: dict[str, datetime] = {}          # callback Token -> expiry
        self._kf_windows: dict[tuple[str, str], tuple[datetime, int]] = {}  # (kfid, user) -> last msg, replies
        # template cards: task_id -> card; response_code -> (task_id, issued at)
        self.cards: dict[str, dict] = {}
        self.card_updates: list[dict] = []
        self._card_codes: dict[str, tuple[str, datetime]] = {}

    # -- customer groups, 微信客服, template cards: the app-token JSON endpoints ------------------
    def _contact_routes(self) -> dict[str, tuple[str, str, ContactHandler]]:
        ec, kf = "/cgi-bin/externalcontact", "/cgi-bin/kf"
        return {
            f"{ec}/groupchat/list": ("groupchat_list", "cursor", self._groupchat_list),
            f"{ec}/groupchat/get": ("groupchat_get", "chat_id", self._groupchat_get),
            f"{ec}/add_msg_template": ("add_msg_template", "chat_id_list", self._add_msg_template),
            f"{ec}/get_groupmsg_task": ("get_groupmsg_task", "msgid", self._get_groupmsg_task),
            f"{ec}/get_groupmsg_send_result": ("get_groupmsg_send_result", "msgid", self._get_groupmsg_send_result),
            f"{ec}/remind_groupmsg_send": ("remind_groupmsg_send", "msgid", self._remind_groupmsg_send),
            f"{ec}/cancel_groupmsg_send": ("cancel_groupmsg_send", "msgid", self._cancel_groupmsg_send),
            f"{ec}/groupchat/statistic": ("groupchat_statistic", "day_begin_time", self._groupchat_statistic),
            f"{ec}/groupchat/statistic_group_by_day": ("groupchat_statistic_by_day", "day_begin_time",
                                                       self._groupchat_statistic_by_day),
            f"{kf}/add_contact_way": ("kf_add_contact_way", "open_kfid", self._kf_add_contact_way),
            f"{kf}/sync_msg": ("kf_sync_msg", "open_kfid", self._kf_sync_msg),
            f"{kf}/send_msg": ("kf_send_msg", "touser", self._kf_send_msg),
        }

    def _route(self, endpoint: str, target_key: str, handler: ContactHandler):
        async def serve(request: web.Request) -> web.StreamResponse:
            token = request.query.get("access_token", "")

            def handle(req: web.Request, raw: bytes, now: datetime) -> dict:
                self._check_token(token, now)
                return handler(self._json_body(raw), now)

            return await self._serve(request, endpoint, handle, target_key=target_key)
        return serve

    @staticmethod
    def _ts(when: datetime | None) -> int:
        return int(when.timestamp()) if when else 0

    def _customer_group(self, chat_id: Any) -> dict:
        group = self.customer_groups.get(str(chat_id or ""))
        if group is None:
            raise _Reject(40058, "invalid chat_id, invalid Request Parameter")
        return group

    def _groupchat_list(self, body: dict, now: datetime) -> dict:
        limit = body.get("limit")
        if not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise _Reject(40058, "limit must be 1..1000, invalid Request Parameter")
        owners = (body.get("owner_filter") or {}).get("userid_list")
        chat_ids = [c for c, g in sorted(self.customer_groups.items()) if not owners or g["owner"] in owners]
        start = int(body.get("cursor") or 0) if str(body.get("cursor") or "0").isdigit() else 0
        page = chat_ids[start:start + limit]
        more = start + limit < len(chat_ids)
        return {"group_chat_list": [{"chat_id": c, "status": 0} for c in page],
                "next_cursor": str(start + limit) if more else ""}

    def _groupchat_get(self, body: dict, now: datetime) -> dict:
        group = self._customer_group(body.get("chat_id"))
        need_name = body.get("need_name") == 1
        members = []
        for m in group["members"]:
            member = {k: v for k, v in m.items() if k != "name" or need_name}
            members.append(member)
        return {"group_chat": {
            "chat_id": body["chat_id"], "name": group["name"], "owner": group["owner"],
            "create_time": group["create_time"], "notice": group["notice"], "member_list": members,
            "admin_list": [], "member_version": hashlib.md5(json.dumps(members).encode()).hexdigest()}}

    def _add_msg_template(self, body: dict, now: datetime) -> dict:
        if body.get("chat_type") != "group":
            raise _Reject(40058, "the stand-in speaks chat_type group only, invalid Request Parameter")
        sender, chat_ids = body.get("sender"), body.get("chat_id_list") or []
        if not sender:
            raise _Reject(40058, "sender is required for group, invalid Request Parameter")
        if not isinstance(chat_ids, list) or not 1 <= len(chat_ids) <= 2000:
            raise _Reject(40058, "chat_id_list must hold 1..2000 chat ids, invalid Request Parameter")
        if any(self._customer_group(c)["owner"] != sender for c in chat_ids):
            # WeCom only hands a 群发 task to the group's owner; a foreign group is our refusal.
            raise _Reject(40058, "sender does not own every chat in chat_id_list, invalid Request Parameter")
        content = (body.get("text") or {}).get("content") or ""
        attachments = body.get("attachments") or []
        if len(str(content).encode("utf-8")) > GROUP_TEXT_MAX:
            raise _Reject(40058, f"text.content exceed max length {GROUP_TEXT_MAX}. invalid Request Parameter")
        if not isinstance(attachments, list) or len(attachments) > GROUP_ATTACHMENTS_MAX:
            raise _Reject(40058, f"at most {GROUP_ATTACHMENTS_MAX} attachments, invalid Request Parameter")
        if not content and not attachments:
            raise _Reject(44004)
        msgid = "msg" + secrets.token_urlsafe(18)
        self._group_sends[msgid] = {"sender": sender, "chat_ids": list(dict.fromkeys(chat_ids)),
                                    "text": content, "attachments": attachments, "created_at": now,
                                    "sent_at": None, "results": {}, "cancelled": False, "reminders": []}
        return {"fail_list": [], "msgid": msgid}

    def _group_send(self, body: dict) -> dict:
        task = self._group_sends.get(str(body.get("msgid") or ""))
        if task is None:
            raise _Reject(ERR_BAD_MSGID, "invalid msgid, invalid Request Parameter")
        return task

    def _get_groupmsg_task(self, body: dict, now: datetime) -> dict:
        task = self._group_send(body)
        row = {"userid": task["sender"], "status": 2 if task["sent_at"] else 0}
        if task["sent_at"]:
            row["send_time"] = self._ts(task["sent_at"])
        return {"task_list": [row], "next_cursor": ""}

    def _get_groupmsg_send_result(self, body: dict, now: datetime) -> dict:
        task = self._group_send(body)
        if body.get("userid") != task["sender"]:
            return {"send_list": [], "next_cursor": ""}
        # For a group 群发 only the rows the owner actually sent exist (groups are chosen on sending).
        rows = [{"chat_id": c, "userid": task["sender"], "status": st, "send_time": self._ts(task["sent_at"])}
                for c, st in task["results"].items()]
        return {"send_list": rows, "next_cursor": ""}

    def _remind_groupmsg_send(self, body: dict, now: datetime) -> dict:
        task = self._group_send(body)
        recent = [t for t in task["reminders"] if t > now - timedelta(hours=24)]
        if len(recent) >= REMINDS_PER_DAY:
            raise _Reject(ERR_REMIND_LIMIT, "remind groupmsg send at most 3 times a day (standin)")
        task["reminders"] = recent + [now]
        return {}

    def _cancel_groupmsg_send(self, body: dict, now: datetime) -> dict:
        self._group_send(body)["cancelled"] = True
        return {}

    def _stats_days(self, body: dict, now: datetime) -> tuple[list[date], list[str] | None]:
        try:
            first = datetime.fromtimestamp(int(body["day_begin_time"]), TZ).date()
            last = datetime.fromtimestamp(int(body.get("day_end_time") or body["day_begin_time"]), TZ).date()
        except (KeyError, TypeError, ValueError, OverflowError, OSError):
            raise _Reject(40058, "day_begin_time is required, invalid Request Parameter") from None
        today = now.astimezone(TZ).date()
        if (last < first or last >= today or first < today - timedelta(days=STATS_DAYS_BACK)
                or (last - first).days >= STATS_SPAN_DAYS):
            raise _Reject(ERR_STATS_RANGE)
        owners = (body.get("owner_filter") or {}).get("userid_list")
        if owners is not None and (not isinstance(owners, list) or len(owners) > 100):
            raise _Reject(40058, "owner_filter.userid_list holds at most 100, invalid Request Parameter")
        return [first + timedelta(days=i) for i in range((last - first).days + 1)], owners

    def _stats(self, days: list[date], owners: list[str] | None, owner: str | None = None) -> dict[str, int]:
        """Sum the day rows the test set; *_total fields are 截至当天 totals, so a range keeps the last."""
        data: dict[str, int] = {}
        for (who, day), row in sorted(self.group_stats.items(), key=lambda item: item[0][1]):
            if day not in days or (owner is not None and who != owner) or (owners and who not in owners):
                continue
            for key, value in row.items():
                data[key] = value if key.endswith("_total") and owner is not None else data.get(key, 0) + value
        return data

    def _groupchat_statistic(self, body: dict, now: datetime) -> dict:
        days, owners = self._stats_days(body, now)
        who = sorted({o for o, d in self.group_stats if d in days and (not owners or o in owners)})
        items = [{"owner": o, "data": self._stats(days, owners, o)} for o in who]
        offset, limit = int(body.get("offset") or 0), int(body.get("limit") or 500)
        page = items[offset:offset + limit]
        return {"total": len(items), "next_offset": offset + len(page), "items": page}

    def _groupchat_statistic_by_day(self, body: dict, now: datetime) -> dict:
        days, owners = self._stats_days(body, now)
        items = [{"stat_time": int(datetime(d.year, d.month, d.day, tzinfo=TZ).timestamp()),
                  "data": self._stats([d], owners)} for d in days]
        return {"items": items}

    def _kf_account(self, body: dict) -> str:
        open_kfid = str(body.get("open_kfid") or "")
        if open_kfid not in self.kf_accounts:
            raise _Reject(ERR_KF_ACCOUNT)
        return open_kfid

    def _kf_add_contact_way(self, body: dict, now: datetime) -> dict:
        open_kfid = self._kf_account(body)
        scene = str(body.get("scene") or "")
        if not KF_SCENE.fullmatch(scene):
            raise _Reject(40058, "scene must be <=32 bytes of [0-9a-zA-Z_-], invalid Request Parameter")
        return {"url": self.kf_contact_url(open_kfid, scene)}

    @staticmethod
    def kf_contact_url(open_kfid: str, scene: str) -> str:
        """The link add_contact_way answers for this account and scene (stable, so a sandbox config can hold it)."""
        code = hashlib.sha1(f"{open_kfid}:{scene}".encode()).hexdigest()[:16]
        url = f"https://work.weixin.qq.com/kf/kfc{code}"
        return url + (f"?enc_scene=ENC{code.upper()}" if scene else "")

    def _kf_sync_msg(self, body: dict, now: datetime) -> dict:
        open_kfid = self._kf_account(body)
        token = str(body.get("token") or "")
        # WeCom lets a caller omit the token under a strict rate limit; the stand-in insists on it, so a
        # bot that drops the callback's Token is caught here rather than throttled in production.
        if self._kf_tokens.get(token, now) <= now:
            raise _Reject(ERR_KF_TOKEN)
        limit = body.get("limit", 1000)
        if not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise _Reject(40058, "limit must be 1..1000, invalid Request Parameter")
        cursor = str(body.get("cursor") or "")
        try:
            start = int(base64.urlsafe_b64decode(cursor.encode()).decode() or 0) if cursor else 0
        except (ValueError, UnicodeDecodeError):
            raise _Reject(40058, "invalid cursor, invalid Request Parameter") from None
        rows = [(i, m) for i, m in enumerate(self._kf_log[start:], start)
                if m["open_kfid"] == open_kfid and m["at"] > now - KF_HISTORY]
        page, more = rows[:limit], len(rows) > limit
        end = page[-1][0] + 1 if page else start
        return {"next_cursor": base64.urlsafe_b64encode(str(end).encode()).decode(), "has_more": int(more),
                "msg_list": [m["msg"] for _, m in page]}

    def _kf_send_msg(self, body: dict, now: datetime) -> dict:
        open_kfid = self._kf_account(body)
        touser = str(body.get("touser") or "")
        content = self._content(body, str(body.get("msgtype")), KF_TEXT_MAX, ("text",))
        last, replies = self._kf_windows.get((open_kfid, touser), (None, 0))
        # 5 replies within 48 h of the customer's last message; a new message from them re-opens it.
        if last is None or now - last >= KF_WINDOW or replies >= KF_REPLIES:
            raise _Reject(ERR_KF_QUOTA)
        self._kf_windows[(open_kfid, touser)] = (last, replies + 1)
        msgid = str(body.get("msgid") or secrets.token_hex(16))
        self.kf_sent[touser].append({**body, "text": {"content": content}})
        return {"msgid": msgid}

    # -- template cards (message/send msgtype template_card, update_template_card) --------------------
    def _template_card(self, body: dict) -> dict:
        card = body.get("template_card")
        if not isinstance(card, dict) or card.get("card_type") != "button_interaction":
            raise _Reject(40008, "the stand-in speaks template_card button_interaction only")
        task_id = str(card.get("task_id") or "")
        if not CARD_TASK_ID.fullmatch(task_id) or task_id in self.cards:
            raise _Reject(ERR_TASK_ID, "taskid has existed or empty or exceed max len")
        buttons = card.get("button_list")
        if not isinstance(buttons, list) or not buttons or not all(
                isinstance(b, dict) and b.get("text") and b.get("key") for b in buttons):
            raise _Reject(40058, "button_list needs text and key on each button, invalid Request Parameter")
        if not isinstance(card.get("main_title"), dict) or not card["main_title"].get("title"):
            raise _Reject(40058, "main_title.title is required, invalid Request Parameter")
        return card

    def _issue_card(self, card: dict, members: list[str], now: datetime) -> dict:
        code = secrets.token_urlsafe(24)
        self.cards[card["task_id"]] = {"card": card, "userids": members, "greyed": {}}
        self._card_codes[code] = (card["task_id"], now)
        return {"invaliduser": "", "msgid": secrets.token_urlsafe(16), "response_code": code}

    async def _update_template_card(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("access_token", "")

        def handle(req: web.Request, raw: bytes, now: datetime) -> dict:
            body = self._app_body(token, raw, now)
            issued = self._card_codes.get(str(body.get("response_code") or ""))
            if issued is None or now - issued[1] >= CARD_CODE_TTL:
                raise _Reject(ERR_CARD_CODE, "invalid response_code, used or expired")
            replace = (body.get("button") or {}).get("replace_name")
            if not isinstance(replace, str) or not replace:
                raise _Reject(40058, "button.replace_name is required, invalid Request Parameter")
            task_id = issued[0]
            del self._card_codes[body["response_code"]]  # single use
            userids = [u for u in body.get("userids") or [] if u in self.cards[task_id]["userids"]]
            for userid in userids:
                self.cards[task_id]["greyed"][userid] = replace
            self.card_updates.append({"task_id": task_id, **body})
            return {"invaliduser": [u for u in body.get("userids") or [] if u not in userids]}

        return await self._serve(request, "update_template_card", handle, target_key="response_code")

    # -- what the test makes happen on the WeCom side (customer groups, 微信客服, cards) -----------------
    def _event_xml(self, fields: dict[str, str | int], from_user: str | None = "sys") -> str:
        """An app-callback event: the header WeCom sends (kf_msg_or_event has no FromUserName in the
        official sample), then the event's own leaf fields."""
        head: dict[str, str | int] = {"ToUserName": self.corp_id}
        if from_user is not None:
            head["FromUserName"] = from_user
        head.update(CreateTime=int(self.clock.now().timestamp()), MsgType="event")
        parts = [f"<{k}>{v if isinstance(v, int) else _cdata(v)}</{k}>" for k, v in {**head, **fields}.items()]
        return "<xml>" + "".join(parts) + "</xml>"

    def add_customer_group(self, chat_id: str, *, name: str, owner: str, members: Iterable[dict] = (),
                           notice: str = "") -> dict:
        """Define a customer group; each member needs userid and type (1 member, 2 external contact)."""
        joined = int(self.clock.now().timestamp())
        rows = [{"userid": m["userid"], "type": int(m["type"]), "join_time": int(m.get("join_time", joined)),
                 "join_scene": int(m.get("join_scene", 1)), "group_nickname": m.get("group_nickname", ""),
                 "name": m.get("name", "")} for m in members]
        self.customer_groups[chat_id] = {"name": name, "owner": owner, "notice": notice,
                                         "create_time": joined, "members": rows}
        return self.customer_groups[chat_id]

    def confirm_group_send(self, msgid: str, owner: str) -> dict[str, int]:
        """The owner's one tap in the client: deliver to each group unless the day's quota is spent.
        Returns chat_id -> send_result status (1 sent, 3 already got another 群发 today)."""
        task = self._group_sends[msgid]
        if owner != task["sender"] or task["cancelled"] or task["sent_at"]:
            raise ValueError("only the sender confirms a live, unsent 群发 task, and only once")
        now = self.clock.now()
        today = now.astimezone(TZ).date()
        for chat_id in task["chat_ids"]:
            if self._group_receipts[(chat_id, today)] >= self.group_send_quota_per_day:
                task["results"][chat_id] = 3
                continue
            self._group_receipts[(chat_id, today)] += 1
            task["results"][chat_id] = 1
            self.customer_group_messages[chat_id].append(
                {"msgid": msgid, "sender": owner, "text": task["text"], "attachments": task["attachments"],
                 "at": now})
        task["sent_at"] = now
        return dict(task["results"])

    def group_change(self, chat_id: str, change_type: str, update_detail: str = "",
                     **extra: str | int) -> tuple[dict[str, str], bytes]:
        """A sealed change_external_chat callback (ChangeType create|update|dismiss, UpdateDetail …)."""
        fields: dict[str, str | int] = {"Event": "change_external_chat", "ChatId": chat_id, "ChangeType": change_type}
        if update_detail:
            fields["UpdateDetail"] = update_detail
        return self.seal_app_xml(self._event_xml({**fields, **extra}))

    def set_group_stats(self, owner: str, day: date | str, **data: int) -> None:
        """One owner's groupchat statistics for one natural day (new_chat_cnt, chat_total, msg_total, …)."""
        self.group_stats[(owner, date.fromisoformat(day) if isinstance(day, str) else day)] = dict(data)

    def add_kf_account(self, open_kfid: str) -> None:
        self.kf_accounts.add(open_kfid)

    def kf_customer_message(self, open_kfid: str, external_userid: str, text: str | None = None, *,
                            voice_media_id: str | None = None, scene: str | None = None,
                            scene_param: str | None = None) -> tuple[dict[str, str], bytes]:
        """A resident writes to the kf account (text, or a voice that arrives as media only). With a
        scene_param the resident came in through a kf link, so an enter_session event comes first.
        Returns the sealed kf_msg_or_event callback for the app's callback URL."""
        if open_kfid not in self.kf_accounts:
            raise ValueError(f"unknown kf account {open_kfid!r}; add_kf_account first")
        now = self.clock.now()
        sent = int(now.timestamp())
        if scene_param is not None:
            event = {"event_type": "enter_session", "open_kfid": open_kfid, "external_userid": external_userid,
                     "scene": scene or "", "scene_param": scene_param, "welcome_code": secrets.token_urlsafe(12)}
            self._kf_log.append({"open_kfid": open_kfid, "at": now, "msg": {
                "msgid": secrets.token_hex(16), "send_time": sent, "origin": 4, "msgtype": "event",
                "event": event}})
        if text is not None or voice_media_id is not None:
            msg: dict[str, Any] = {"msgid": secrets.token_hex(16), "open_kfid": open_kfid,
                                   "external_userid": external_userid, "send_time": sent, "origin": 3}
            if voice_media_id is not None:
                msg.update(msgtype="voice", voice={"media_id": voice_media_id})
            else:
                msg.update(msgtype="text", text={"content": text})
            self._kf_log.append({"open_kfid": open_kfid, "at": now, "msg": msg})
            self._kf_windows[(open_kfid, external_userid)] = (now, 0)
        token = "ENC" + secrets.token_urlsafe(32)
        self._kf_tokens[token] = now + KF_TOKEN_TTL
        return self.seal_app_xml(self._event_xml({"Event": "kf_msg_or_event", "Token": token,
                                                   "OpenKfId": open_kfid}, from_user=None))

    def app_event(self, fields: dict[str, str | int], from_user: str | None = "sys") -> tuple[dict[str, str], bytes]:
        """Any sealed app-callback event: for what the scripted helpers refuse to make (a tap by someone the card
        never reached, a malformed event)."""
        return self.seal_app_xml(self._event_xml(fields, from_user))

    def card_tap(self, task_id: str, userid: str, key: str) -> tuple[dict[str, str], bytes]:
        """A cadre taps a button on a template card: the sealed template_card_event callback."""
        card = self.cards.get(task_id)
        if card is None or userid not in card["userids"]:
            raise ValueError("no such card for this member")
        if userid in card["greyed"] or key not in {b["key"] for b in card["card"]["button_list"]}:
            raise ValueError("that button cannot be tapped (greyed out or unknown key)")
        code = secrets.token_urlsafe(24)
        self._card_codes[code] = (task_id, self.clock.now())
        return self.seal_app_xml(self._event_xml(
            {"Event": "template_card_event", "EventKey": key, "TaskId": task_id,
             "CardType": card["card"]["card_type"], "ResponseCode": code, "AgentID": self.agent_id},
            from_user=userid))
