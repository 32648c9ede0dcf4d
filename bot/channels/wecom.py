"""Outbound calls to WeCom over aiohttp: group robot webhooks, the app's message/send, AI bot response_url.
Every URL is built on `api_base`, so a stand-in can take WeCom's place."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp

from bot.clock import Clock
from bot.config import WeCom

TOKEN_EXPIRED = (40014, 42001)
RATE_LIMITED = 45009


class WeComError(Exception):
    def __init__(self, errcode: int, errmsg: str = ""):
        self.errcode, self.errmsg = errcode, errmsg
        super().__init__(f"errcode {errcode}: {errmsg}")


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

    async def post(self, path: str, payload: dict) -> dict:
        """POST an app-token API (path under api_base); a token WeCom calls expired is refetched once."""
        for attempt in (1, 2):
            token = await self.access_token()
            try:
                return await self._call("POST", f"{self.config.api_base}{path}",
                                        params={"access_token": token}, json=payload)
            except WeComError as exc:
                if exc.errcode not in TOKEN_EXPIRED or attempt == 2:
                    raise
                self._token = None
        raise AssertionError("unreachable")
