"""Customer groups (客户群) over WeCom's 客户联系 API: members, owner-confirmed group sends (群发), statistics,
and the change_external_chat callback. The app must be in 客户联系「可调用应用」 and the owners in its range."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time

from bot.channels.wecom import WeComClient
from bot.clock import TZ

EC = "/cgi-bin/externalcontact"
MEMBER, EXTERNAL = 1, 2                       # member_list.type
NOT_SENT, SENT = 0, 2                         # get_groupmsg_task status
DELIVERED, NOT_FRIEND, QUOTA_SPENT = 1, 2, 3  # get_groupmsg_send_result status


def _when(ts: object) -> datetime | None:
    return datetime.fromtimestamp(int(ts), TZ) if ts else None  # type: ignore[arg-type]


@dataclass(frozen=True)
class GroupMember:
    userid: str                # a member's userid, or an external contact's external_userid
    type: int                  # 1 member of the corp, 2 external contact (a resident on WeChat)
    group_nickname: str        # 群昵称: what a cadre shows as 亮明身份
    name: str                  # only with need_name
    join_time: datetime | None
    join_scene: int = 0

    @property
    def is_external(self) -> bool:
        return self.type == EXTERNAL


@dataclass(frozen=True)
class CustomerGroup:
    chat_id: str
    name: str
    owner: str
    notice: str
    members: tuple[GroupMember, ...]
    member_version: str = ""


@dataclass(frozen=True)
class GroupSendTask:
    userid: str
    status: int                # 0 not sent yet (the owner has not tapped), 2 sent
    send_time: datetime | None


@dataclass(frozen=True)
class GroupSendResult:
    chat_id: str
    userid: str
    status: int                # 1 delivered, 2 not a friend, 3 the group already got another 群发
    send_time: datetime | None


@dataclass(frozen=True)
class GroupSendStatus:
    msgid: str
    tasks: tuple[GroupSendTask, ...]
    results: tuple[GroupSendResult, ...]

    @property
    def confirmed(self) -> bool:
        return any(t.status == SENT for t in self.tasks)

    @property
    def delivered(self) -> tuple[str, ...]:
        return tuple(r.chat_id for r in self.results if r.status == DELIVERED)

    @property
    def over_quota(self) -> tuple[str, ...]:
        return tuple(r.chat_id for r in self.results if r.status == QUOTA_SPENT)


@dataclass(frozen=True)
class GroupStats:
    new_chat_cnt: int = 0
    chat_total: int = 0
    chat_has_msg: int = 0
    new_member_cnt: int = 0
    member_total: int = 0
    member_has_msg: int = 0
    msg_total: int = 0

    @classmethod
    def from_data(cls, data: Mapping[str, object]) -> GroupStats:
        return cls(**{k: int(data.get(k, 0) or 0) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]


@dataclass(frozen=True)
class GroupChange:
    """change_external_chat: treat it as a hint and re-read the group (API-made changes raise none)."""
    chat_id: str
    change_type: str           # create | update | dismiss
    update_detail: str         # add_member, del_member, change_owner, change_name, change_notice
    at: datetime | None


async def list_customer_groups(client: WeComClient, owners: Iterable[str] | None = None) -> list[str]:
    body: dict = {"status_filter": 0, "limit": 1000}
    if owners is not None:
        body["owner_filter"] = {"userid_list": list(owners)}
    chat_ids: list[str] = []
    while True:
        page = await client.post(f"{EC}/groupchat/list", body)
        chat_ids += [g["chat_id"] for g in page.get("group_chat_list", [])]
        if not page.get("next_cursor"):
            return chat_ids
        body["cursor"] = page["next_cursor"]


async def groupchat_members(client: WeComClient, chat_id: str, need_name: bool = True) -> CustomerGroup:
    answer = await client.post(f"{EC}/groupchat/get", {"chat_id": chat_id, "need_name": int(need_name)})
    group = answer["group_chat"]
    members = tuple(GroupMember(userid=m["userid"], type=int(m["type"]), group_nickname=m.get("group_nickname", ""),
                                name=m.get("name", ""), join_time=_when(m.get("join_time")),
                                join_scene=int(m.get("join_scene", 0)))
                    for m in group.get("member_list", []))
    return CustomerGroup(chat_id=group["chat_id"], name=group.get("name", ""), owner=group.get("owner", ""),
                         notice=group.get("notice", ""), members=members,
                         member_version=group.get("member_version", ""))


async def create_group_send(client: WeComClient, sender: str, chat_ids: Iterable[str], text: str) -> str:
    """Create a 群发 task for the owner `sender`; nothing reaches the groups until they confirm it."""
    answer = await client.post(f"{EC}/add_msg_template", {
        "chat_type": "group", "sender": sender, "chat_id_list": list(chat_ids), "text": {"content": text}})
    return str(answer["msgid"])


async def group_send_status(client: WeComClient, msgid: str) -> GroupSendStatus:
    tasks = [GroupSendTask(t["userid"], int(t["status"]), _when(t.get("send_time")))
             async for t in _pages(client, "get_groupmsg_task", "task_list", {"msgid": msgid, "limit": 1000})]
    results = [GroupSendResult(r.get("chat_id", ""), r["userid"], int(r["status"]), _when(r.get("send_time")))
               for task in tasks if task.status == SENT
               async for r in _pages(client, "get_groupmsg_send_result", "send_list",
                                     {"msgid": msgid, "userid": task.userid, "limit": 1000})]
    return GroupSendStatus(msgid, tuple(tasks), tuple(results))


async def _pages(client: WeComClient, api: str, key: str, body: dict):
    while True:
        page = await client.post(f"{EC}/{api}", body)
        for row in page.get(key, []):
            yield row
        if not page.get("next_cursor"):
            return
        body = {**body, "cursor": page["next_cursor"]}


async def remind_group_send(client: WeComClient, msgid: str) -> None:
    """Nudge the owner again (WeCom allows 3 reminders per 群发 in 24 h)."""
    await client.post(f"{EC}/remind_groupmsg_send", {"msgid": msgid})


async def cancel_group_send(client: WeComClient, msgid: str) -> None:
    await client.post(f"{EC}/cancel_groupmsg_send", {"msgid": msgid})


def _day_ts(day: date) -> int:
    return int(datetime.combine(day, time(), TZ).timestamp())


async def group_stats(client: WeComClient, owners: Iterable[str], day: date) -> dict[str, GroupStats]:
    """One past day's activity per owner: WeCom counts per owner, never per group."""
    body = {"day_begin_time": _day_ts(day), "day_end_time": _day_ts(day),
            "owner_filter": {"userid_list": list(owners)}, "offset": 0, "limit": 1000}
    stats: dict[str, GroupStats] = {}
    while True:
        page = await client.post(f"{EC}/groupchat/statistic", body)
        items = page.get("items", [])
        stats.update({i["owner"]: GroupStats.from_data(i.get("data", {})) for i in items})
        if not items or len(stats) >= int(page.get("total", 0)):
            return stats
        body = {**body, "offset": int(page.get("next_offset", len(stats)))}


async def group_stats_by_day(client: WeComClient, owners: Iterable[str], first: date,
                             last: date) -> dict[date, GroupStats]:
    answer = await client.post(f"{EC}/groupchat/statistic_group_by_day", {
        "day_begin_time": _day_ts(first), "day_end_time": _day_ts(last),
        "owner_filter": {"userid_list": list(owners)}})
    return {datetime.fromtimestamp(int(i["stat_time"]), TZ).date(): GroupStats.from_data(i.get("data", {}))
            for i in answer.get("items", [])}


def parse_group_change(data: Mapping[str, str]) -> GroupChange | None:
    if data.get("Event") != "change_external_chat" or not data.get("ChatId"):
        return None
    return GroupChange(chat_id=data["ChatId"], change_type=data.get("ChangeType", ""),
                       update_detail=data.get("UpdateDetail", ""), at=_when(data.get("CreateTime")))
