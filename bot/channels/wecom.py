"""Outbound calls to WeCom over aiohttp: group robot webhooks, the app's message/send, AI bot response_url.
Every URL is built on `api_base`, so a stand-in can take WeCom's place."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp

from bot.clock import Clock
from bot.config import WeCom

TOKEN_EXPIRED = (40014, 42001)
INVALID_CREDENTIAL = 40001     # a bad token or secret; also what a spent or expired response_url answers
RATE_LIMITED = 45009
KF_WINDOW_CLOSED = 95001       # kf/send_msg outside the 48 h / 5-reply window
# message/send of a template card whose task_id the app used before ("taskid has existed or empty or exceed max
# len", as WeCom answers it: developers.weixin.qq.com/community/enterprisewechat/doc/000e8a97798020098fdd7015a51800;
# a task_id is unique per app, at most 128 bytes: developer.work.weixin.qq.com/document/path/90236).
TASK_ID_TAKEN = 42014
# Answers that no retry can change: the same request would be refused again until someone fixes the
# configuration or the message. Anything else (network, timeouts, HTTP 5xx, -1 system busy, codes not
# listed here) is worth retrying.
PERMANENT = {
    93000: "群机器人的 webhook 地址无效（机器人被移除或 key 填错）",
    40008: "消息类型无效",
    44004: "消息内容为空",
    40058: "消息参数无效（例如超长）",
    81013: "接收人全部无效（不在企业或不在应用可见范围）",
    40056: "应用 AgentId 无效",
    40013: "企业 ID（corp_id）无效",
    KF_WINDOW_CLOSED: "微信客服回复超出时限（对方最后一条消息后 48 小时内最多 5 条）",
    INVALID_CREDENTIAL: "凭证无效（应用 secret 有误，或回复地址已用过、已过期）",
}


class WeComError(Exception):
    def __init__(self, errcode: int, errmsg: str = ""):
        self.errcode, self.errmsg = errcode, errmsg
        super().__init__(f"errcode {errcode}: {errmsg}")

    @property
    def permanent(self) -> bool:
        return self.errcode in PERMANENT


class WeComClient:
    def __init__(self, session: aiohttp.ClientSession, config: WeCom, clock: Clock):
        self.session, self.config, self.clock = session, config, clock
        self._token: str | None = None
        self._token_expires = clock.now()

    async def _call(self, method: str, url: str, **kwargs: Any) -> dict:
        async with self.session.request(method, url, timeout=aiohttp.ClientTimeout(total=15), **kwargs) as resp:
            resp.raise_for_status()
            body = await resp.json(content_type=None)
        if not isinstance(body, dict):
            raise WeComError(-1, "answer is not a JSON object")
        if body.get("errcode", 0) != 0:
            raise WeComError(int(body["errcode"]), str(body.get("errmsg", "")))
        return body

    async def send_robot(self, key: str, payload: dict) -> None:
        await self._call("POST", f"{self.config.api_base}/cgi-bin/webhook/send", params={"key": key}, json=payload)

    async def post_response(self, url: str, payload: dict) -> None:
        await self._call("POST", url, json=payload)

    async def access_token(self) -> str:
        # A token lives 7200 s; refresh a little early so a call never carries one that dies in flight.
        if self._token is None or self.clock.now() >= self._token_expires:
            body = await self._call("GET", f"{self.config.api_base}/cgi-bin/gettoken",
                                    params={"corpid": self.config.corp_id, "corpsecret": self.config.secret})
            self._token = body["access_token"]
            self._token_expires = self.clock.now() + timedelta(seconds=int(body.get("expires_in", 7200)) - 300)
        return self._token

    async def send_app(self, payload: dict) -> None:
        await self.post("/cgi-bin/message/send", {"agentid": self.config.agent_id, **payload})

    async def user_by_code(self, code: str) -> str:
        """Web OAuth (path/96442 获取访问用户身份): the member a sign-in code names; a code is single-use and lives
        5 minutes. A visitor who is not a member of the corp gets an openid instead: refused here."""
        body = await self.get("/cgi-bin/auth/getuserinfo", {"code": code})
        userid = body.get("userid") or body.get("UserId")
        if not isinstance(userid, str) or not userid:
            raise WeComError(-1, "not a member of the corp")
        return userid

    async def get(self, path: str, params: dict) -> dict:
        """GET an app-token API; a token WeCom calls expired is refetched once."""
        for attempt in (1, 2):
            token = await self.access_token()
            try:
                return await self._call("GET", f"{self.config.api_base}{path}", params={"access_token": token, **params})
            except WeComError as exc:
                if exc.errcode not in (*TOKEN_EXPIRED, INVALID_CREDENTIAL) or attempt == 2:
                    raise
                self._token = None
        raise AssertionError("unreachable")

    async def post(self, path: str, payload: dict) -> dict:
        """POST an app-token API (path under api_base); a token WeCom calls expired is refetched once."""
        for attempt in (1, 2):
            token = await self.access_token()
            try:
                return await self._call("POST", f"{self.config.api_base}{path}",
                                        params={"access_token": token}, json=payload)
            except WeComError as exc:
                # 40001 on message/send is a token WeCom no longer knows: fetch a new one once; a second 40001
                # (or one from gettoken itself) means the secret is wrong, which no retry fixes.
                if exc.errcode not in (*TOKEN_EXPIRED, INVALID_CREDENTIAL) or attempt == 2:
                    raise
                self._token = None
        raise AssertionError("unreachable")
