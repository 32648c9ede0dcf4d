"""What every stand-in endpoint shares: WeCom's errmsg texts, the refusal it raises, XML CDATA quoting."""
from __future__ import annotations

ERRMSG = {
    -1: "system busy",
    40001: "invalid credential",
    40008: "invalid message type",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40035: "invalid parameter, Warning: wrong json format.",
    40056: "invalid agentid",
    40058: "invalid Request Parameter",
    41001: "access_token missing",
    42001: "access_token expired",
    44004: "empty content",
    45009: "api freq out of limit",
    81013: "user & party & tag all invalid",
    93000: "invalid webhook url",
    95000: "invalid open_kfid",
    95001: "send msg count limit",
    95007: "invalid msg token",
    600018: "invalid start endtime",
}


class Reject(Exception):
    """An endpoint's refusal: answered as HTTP 200 with this errcode, like WeCom."""

    def __init__(self, errcode: int, errmsg: str | None = None):
        self.errcode, self.errmsg = errcode, errmsg or ERRMSG.get(errcode, "standin error")


def cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"
