"""What each kind of village group can and cannot do, and which credentials a village still lacks for its kind;
`xiaowei check-config` prints it village by village (README, "Group kinds")."""
from __future__ import annotations

from dataclasses import dataclass

from bot.config import Config, Village

CAN = {
    "internal": "群里@小微 的消息由智能机器人收到；群机器人发公告、答复、提醒；干部私信由自建应用发送",
    "customer": "会话存档读到全部群消息；每天一次由群主确认的群发（值班公告、正能量、昨日小结）；"
                "答复交值班干部转发，小微从存档核对是否发出，超时未发会催",
    "bridge": "网关转来全部群消息；群里的答复、公告交网关发出（推送或拉取，按编号有序）",
}
CANNOT = {
    "internal": "听不到没有@小微 的消息，统计不了群活跃度",
    "customer": "不能直接往群里发消息（企业微信规定群发须群主确认，每群每天约一条）；智能机器人和群机器人进不了客户群",
    "bridge": "小微不能自己进群，全靠县里的网关",
}


def ask_here(village: Village) -> str:
    """How a resident addresses 小微 in this village's group: only an internal group needs the @ (the AI bot hears
    nothing else); a customer or gateway group is heard whole, and there is no 小微 member to @."""
    return "在群里@小微 " if village.group == "internal" else "在群里"


@dataclass(frozen=True)
class Readiness:
    village: Village
    can: str
    cannot: str
    missing: tuple[str, ...]


def readiness(config: Config, village: Village) -> Readiness:
    missing: list[str] = []
    if village.group == "internal":
        if not config.aibot.encoding_aes_key:
            missing.append("[aibot] 智能机器人的 token 和 encoding_aes_key")
        if not village.webhook_key:
            missing.append("webhook_key（群机器人）")
    elif village.group == "customer":
        if not (config.wecom.secret and config.wecom.corp_id):
            missing.append("[wecom] corp_id 和 secret（自建应用须加入客户联系「可调用应用」，群发和成员名单都要用）")
        if not village.group_owner:
            missing.append("owner（群主的 userid）")
        if not (config.archive.library and config.archive.secret):
            missing.append("[archive] 会话存档的 library、secret 和 private_keys（没有它听不到群里的消息，"
                           "群活跃度只能用企业微信按群主的统计）")
    else:
        if not config.bridge.secret:
            missing.append("[bridge] secret（网关签名用）")
    if village.group != "customer" and not (config.wecom.secret and config.wecom.corp_id):
        missing.append("[wecom] corp_id 和 secret（给干部发私信要用）")
    return Readiness(village, CAN[village.group], CANNOT[village.group], tuple(missing))
