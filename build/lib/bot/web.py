"""The HTTP face: WeCom's two callbacks, the bridge, and a health check.

Each view only verifies, parses and stores (committed before it answers 200), then hands the message over;
nothing slow happens while WeCom waits."""
from __future__ import annotations

import asyncio
import logging
import signal
from typing import Callable

from aiohttp import web

from bot.app import Bot
from bot.channels.aibot import open_aibot
from bot.channels.app import open_app
from bot.channels.bridge import open_bridge
from bot.crypto import CallbackCrypto, CallbackError, MalformedCallback
from bot.inbox import Message

log = logging.getLogger("xiaowei.web")

MAX_BODY = 64 * 1024
BOT_KEY = web.AppKey("bot", Bot)
REFUSALS = {403: "signature mismatch", 413: "too large"}


def make_app(bot: Bot, *, manage_bot: bool = True) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[BOT_KEY] = bot
    if manage_bot:
        async def lifespan(app: web.Application):
            await bot.start()
            yield
            await bot.stop()
        app.cleanup_ctx.append(lifespan)
    app.router.add_route("*", "/wecom/aibot", aibot_callback)
    app.router.add_route("*", "/wecom/app", app_callback)
    app.router.add_post("/bridge", bridge)
    app.router.add_get("/healthz", healthz)
    return app


def refuse(exc: CallbackError, channel: str) -> web.Response:
    log.warning("%s callback refused (%s): %s", channel, exc.status, exc)
    return web.Response(status=exc.status, text=REFUSALS.get(exc.status, "bad request"))


async def _callback(request: web.Request, crypto: CallbackCrypto | None, channel: str,
                    open_body: Callable[[Bot, CallbackCrypto, web.Request, bytes], Message | None]) -> web.Response:
    if crypto is None:
        return web.Response(status=404, text=f"{channel} callback is not configured")
    try:
        if request.method == "GET":
            q = request.query
            if not all(k in q for k in ("msg_signature", "timestamp", "nonce", "echostr")):
                raise MalformedCallback("missing query parameters")
            return web.Response(text=crypto.verify_url(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"]))
        if request.method != "POST":
            return web.Response(status=405)
        body = await request.read()
        msg = open_body(request.app[BOT_KEY], crypto, request, body)
    except CallbackError as exc:
        return refuse(exc, channel)
    except web.HTTPRequestEntityTooLarge:
        log.warning("%s callback refused (413)", channel)
        raise
    if msg is not None:
        await request.app[BOT_KEY].receive(msg)
    return web.Response(status=200, text="")


async def aibot_callback(request: web.Request) -> web.Response:
    return await _callback(request, request.app[BOT_KEY].aibot_crypto, "aibot", lambda bot, crypto, req, body:
                           open_aibot(bot.config, crypto, req.query, body, bot.clock.now()))


async def app_callback(request: web.Request) -> web.Response:
    return await _callback(request, request.app[BOT_KEY].app_crypto, "app", lambda bot, crypto, req, body:
                           open_app(crypto, req.query, body, bot.clock.now()))


async def bridge(request: web.Request) -> web.Response:
    bot = request.app[BOT_KEY]
    if not bot.config.bridge.secret:
        return web.Response(status=404, text="bridge is not configured")
    try:
        msg = open_bridge(bot.config, request.headers, await request.read(), bot.clock.now())
    except CallbackError as exc:
        return refuse(exc, "bridge")
    await bot.receive(msg)
    return web.Response(status=200, text="")


async def healthz(request: web.Request) -> web.Response:
    bot = request.app[BOT_KEY]
    pending = await bot.store.read(lambda db: db.execute(
        "SELECT (SELECT COUNT(*) FROM messages WHERE status = 'new'), "
        "(SELECT COUNT(*) FROM outbox WHERE status = 'pending')").fetchone())
    return web.json_response({"status": "ok", "unhandled_messages": pending[0], "outbox_pending": pending[1]})


async def serve(bot: Bot, host: str, port: int) -> None:
    """Run until SIGTERM or Ctrl-C; logs the address only once the socket is listening."""
    runner = web.AppRunner(make_app(bot))
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("listening on http://%s:%s", host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        await runner.cleanup()
