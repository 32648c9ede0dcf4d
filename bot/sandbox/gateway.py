"""A stand-in for the county's gateway of plain WeChat groups (README, "The bridge format"), for the demo and
tests: it takes the bot's signed pushes on loopback, checks each signature, and keeps each post once, in order,
as the gateway would post it into its group; `say` signs a group message the way the gateway feeds POST /bridge."""
from __future__ import annotations

import hmac
import json
from datetime import datetime

from aiohttp import web

from bot.channels.bridge import bridge_signature


class GatewayStandIn:
    def __init__(self, secret: str):
        self.secret = secret
        self.posts: list[dict] = []          # what reached the groups, each post once
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._seq = 0

    async def __aenter__(self) -> "GatewayStandIn":
        app = web.Application()
        app.router.add_post("/posts", self._take)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/posts"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _take(self, request: web.Request) -> web.Response:
        body = await request.read()
        stamp = request.headers.get("X-Xiaowei-Timestamp", "")
        if not hmac.compare_digest(request.headers.get("X-Xiaowei-Signature", ""),
                                   bridge_signature(self.secret, stamp, body)):
            return web.Response(status=403, text="bad signature")
        post = json.loads(body)
        if all(p["id"] != post["id"] for p in self.posts):     # at-least-once delivery: a repeat is dropped
            self.posts.append(post)
        return web.Response(text="ok")

    def say(self, *, chat_id: str, userid: str, text: str, at: datetime,
            name: str = "") -> tuple[dict[str, str], bytes]:
        """Headers and body of a group message for POST /bridge, signed with the shared secret."""
        self._seq += 1
        body = json.dumps({"msgid": f"gw-{self._seq}", "chat_id": chat_id, "sender": {"userid": userid, "name": name},
                           "text": text, "mentions_bot": False, "sent_at": at.isoformat()},
                          ensure_ascii=False).encode()
        stamp = str(int(at.timestamp()))
        return {"X-Xiaowei-Timestamp": stamp, "X-Xiaowei-Signature": bridge_signature(self.secret, stamp, body),
                "Content-Type": "application/json"}, body
