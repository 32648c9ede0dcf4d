"""Shared fixtures: a fake clock, the WeCom stand-in on loopback, and the bot served on a real loopback port."""
from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.app import Bot
from bot.clock import ManualClock
from bot.sandbox.config import sandbox_config
from bot.sandbox.standin import WeComStandIn
from bot.web import make_app, server_options
from handlers import default_handlers
from schedules import JOBS

BRIDGE_SECRET = "bridge-test-secret"
CHENGNAN = "wrkSFfCgAAcnchengnan"       # 城南村's group in config.example.toml
CHENGNAN_ROBOT = "robot-key-chengnan"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock("2026-12-01T09:00:00+08:00")   # a Tuesday


@pytest.fixture
async def standin(clock):
    async with WeComStandIn(clock) as s:
        yield s


@pytest.fixture
def config(standin, tmp_path: Path):
    return sandbox_config(standin, tmp_path / "xiaowei.db", bridge_secret=BRIDGE_SECRET)


def new_bot(config, clock, **kw) -> Bot:
    """The bot as `xiaowei serve` composes it: the project's handler table and daily jobs."""
    return Bot(config, handlers=kw.pop("handlers", default_handlers()), jobs=kw.pop("jobs", JOBS), clock=clock, **kw)


class Service:
    """The bot behind a real aiohttp server on 127.0.0.1, with a client session to call it."""

    def __init__(self, bot: Bot, server: TestServer, http: aiohttp.ClientSession):
        self.bot, self.server, self.http = bot, server, http

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    async def post(self, path: str, params: dict, body: bytes, **kw) -> aiohttp.ClientResponse:
        async with self.http.post(self.url(path), params=params, data=body, **kw) as resp:
            await resp.read()
            return resp

    async def raw(self, request: bytes, wait: float = 5) -> bytes:
        """Send exact bytes (what aiohttp's client would refuse to write) and read the answer to EOF."""
        reader, writer = await asyncio.open_connection(self.server.host, self.server.port)
        try:
            writer.write(request)
            await writer.drain()
            return await asyncio.wait_for(reader.read(), wait)
        finally:
            writer.close()

    async def aibot(self, standin: WeComStandIn, *, text: str, userid: str = "resident-1", chatid: str = CHENGNAN,
                    msgid: str | None = None, chattype: str = "group") -> aiohttp.ClientResponse:
        params, body = standin.seal_aibot(standin.aibot_message(chatid=chatid, userid=userid, text=text,
                                                                msgid=msgid, chattype=chattype))
        return await self.post("/wecom/aibot", params, body)


async def start_service(config, clock) -> Service:
    # The daily routine has its own tests; here a start-up catch-up of the morning jobs would only add noise.
    bot = new_bot(config, clock, schedule=False)
    server = TestServer(make_app(bot), host="127.0.0.1")
    await server.start_server(**server_options(config))
    return Service(bot, server, aiohttp.ClientSession())


async def stop_service(service: Service) -> None:
    await service.http.close()
    await service.server.close()


@pytest.fixture
async def service(config, clock):
    svc = await start_service(config, clock)
    yield svc
    await stop_service(svc)


def robot_texts(standin: WeComStandIn, key: str = CHENGNAN_ROBOT) -> list[str]:
    """What a group robot posted as text or markdown (the digest's daily chart image is not text)."""
    return [m.get("text", m.get("markdown", {})).get("content", "") for m in standin.robot_messages.get(key, [])
            if m.get("msgtype") != "image"]


def rows(bot: Bot, sql: str, args: list | None = None) -> list[dict]:
    return bot.store.read_sync(lambda db: list(db.query(sql, args or [])))
