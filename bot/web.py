"""The HTTP face: WeCom's two callbacks, the bridge, a health check, and the web desk (bot/desk/).

Each view only verifies, parses and stores (committed before it answers 200), then hands the message over;
nothing slow happens while WeCom waits. Bad input of any kind is a 4xx: a stale timestamp or a forged
signature 403, a malformed body 400, a client too slow to send its request 408, a body over 64 KiB 413."""
from __future__ import annotations

import asyncio
import json
import logging
import signal
from typing import Any, Callable

from aiohttp import HttpVersion11, web
from aiohttp.abc import AbstractAccessLogger

from bot.app import Bot
from bot.channels.aibot import open_aibot
from bot.channels.app import open_app
from bot.channels.app_events import Received
from bot.channels.bridge import check_pull, open_bridge, pull
from bot.config import Config
from bot.crypto import CallbackCrypto, CallbackError, MalformedCallback, check_fresh
from bot import desk
from bot.inbox import Message

log = logging.getLogger("xiaowei.web")

MAX_BODY = 64 * 1024
BOT_KEY = web.AppKey("bot", Bot)
CALLBACK_QUERY = ("msg_signature", "timestamp", "nonce")
URL_CHECK_QUERY = (*CALLBACK_QUERY, "echostr")
REFUSALS = {403: "signature mismatch", 408: "request timeout", 413: "too large"}


class TooSlow(CallbackError):
    status = 408


class AccessLog(AbstractAccessLogger):
    """Method, path, status and time; never the query string, where a desk sign-in link carries its token and
    WeCom's OAuth redirect its code (credentials, not for a log file)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %.3fs", request.method, request.path, response.status, time)


def server_options(config: Config) -> dict[str, Any]:
    """For aiohttp's runner. In the aiohttp we run on (3.14) keepalive_timeout also runs from the moment a
    connection opens, so a client that sends nothing, or trickles its headers, is cut after
    read_timeout_seconds (older releases only close idle keep-alive connections); lingering_time bounds how
    long the rest of a refused body is drained before the socket closes."""
    seconds = config.server.read_timeout_seconds
    return {"keepalive_timeout": seconds, "lingering_time": seconds, "access_log_class": AccessLog}


def make_app(bot: Bot, *, manage_bot: bool = True) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[BOT_KEY] = bot
    if manage_bot:
        async def lifespan(app: web.Application):
            await bot.start()
            yield
            await bot.stop()
        app.cleanup_ctx.append(lifespan)
    desk.setup(app, bot)
    # Every path, known or not, is ours, so that no request reaches aiohttp's own Expect handling (below).
    for path, view in desk.ROUTES:
        app.router.add_route("GET", path, view, expect_handler=expect_continue)
    for path, view in (("/wecom/aibot", aibot_callback), ("/wecom/app", app_callback), ("/bridge", bridge),
                       ("/bridge/outbox", bridge_outbox), ("/healthz", healthz), ("/{unknown:.*}", not_found)):
        app.router.add_route("*", path, view, expect_handler=expect_continue)
    return app


async def expect_continue(request: web.Request) -> None:
    """aiohttp's default handler echoes an unknown Expect value into its 417, and fails with a 500 when that
    value is not UTF-8; this one says the same without repeating it."""
    if request.version != HttpVersion11:
        return
    if request.headers.get("Expect", "").lower() != "100-continue":
        raise web.HTTPExpectationFailed(text="unknown Expect")
    await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    request.writer.output_size = 0       # as aiohttp's own: the body has not started yet


def allow(request: web.Request, *methods: str) -> None:
    if request.method not in methods:
        raise web.HTTPMethodNotAllowed(request.method, methods)


async def not_found(request: web.Request) -> web.Response:
    raise web.HTTPNotFound()


def refuse(exc: CallbackError, channel: str) -> web.Response:
    log.warning("%s callback refused (%s): %s", channel, exc.status, exc)
    response = web.Response(status=exc.status, text=REFUSALS.get(exc.status, "bad request"))
    if isinstance(exc, TooSlow):
        response.force_close()       # the rest of its body is not worth waiting for on this connection
    return response


async def read_body(request: web.Request) -> bytes:
    """WeCom and the bridge send a few KiB at once; only a trickling (or stalled) client is still sending
    after read_timeout_seconds, and it is cut then rather than holding a handler open."""
    try:
        return await asyncio.wait_for(request.read(), request.app[BOT_KEY].config.server.read_timeout_seconds)
    except TimeoutError:
        raise TooSlow("body not received in time") from None


async def _callback(request: web.Request, crypto: CallbackCrypto | None, channel: str,
                    open_body: Callable[[Bot, CallbackCrypto, web.Request, bytes], Message | Received | None],
                    ) -> web.Response:
    if crypto is None:
        return web.Response(status=404, text=f"{channel} callback is not configured")
    allow(request, "GET", "POST")
    bot = request.app[BOT_KEY]
    try:
        q = request.query
        if not all(k in q for k in (URL_CHECK_QUERY if request.method == "GET" else CALLBACK_QUERY)):
            raise MalformedCallback("missing query parameters")
        check_fresh(q["timestamp"], bot.clock.now(), bot.config.server.clock_skew_seconds)
        if request.method == "GET":
            return web.Response(text=crypto.verify_url(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"]))
        msg = open_body(bot, crypto, request, await read_body(request))
    except CallbackError as exc:
        return refuse(exc, channel)
    except web.HTTPRequestEntityTooLarge:
        log.warning("%s callback refused (413)", channel)
        raise
    if isinstance(msg, Received):      # an app event: stored now, handled after the 200
        await bot.receive_event(msg)
    elif msg is not None:
        await bot.receive(msg)
    return web.Response(status=200, text="")


async def aibot_callback(request: web.Request) -> web.Response:
    return await _callback(request, request.app[BOT_KEY].aibot_crypto, "aibot", lambda bot, crypto, req, body:
                           open_aibot(bot.config, crypto, req.query, body, bot.clock.now()))


async def app_callback(request: web.Request) -> web.Response:
    return await _callback(request, request.app[BOT_KEY].app_crypto, "app", lambda bot, crypto, req, body:
                           open_app(crypto, req.query, body, bot.clock.now()))


async def bridge(request: web.Request) -> web.Response:
    allow(request, "POST")
    bot = request.app[BOT_KEY]
    if not bot.config.bridge.secret:
        return web.Response(status=404, text="bridge is not configured")
    try:
        msg = open_bridge(bot.config, request.headers, await read_body(request), bot.clock.now())
    except CallbackError as exc:
        return refuse(exc, "bridge")
    await bot.receive(msg)
    return web.Response(status=200, text="")


async def bridge_outbox(request: web.Request) -> web.Response:
    """The gateway of plain WeChat groups pulls the group posts: GET /bridge/outbox?after=ID (README)."""
    allow(request, "GET")
    bot = request.app[BOT_KEY]
    if not bot.config.bridge.secret:
        return web.Response(status=404, text="bridge is not configured")
    try:
        check_pull(bot.config, request.headers, request.query_string, bot.clock.now())
        after = request.query.get("after", "0")
        if not (after.isascii() and after.isdigit() and len(after) < 19):
            raise MalformedCallback("after must be a post id")
    except CallbackError as exc:
        return refuse(exc, "bridge")
    page = await bot.store.write(pull, int(after), 100, bot.clock.now().isoformat())
    return web.json_response(page, dumps=lambda o: json.dumps(o, ensure_ascii=False))


async def healthz(request: web.Request) -> web.Response:
    allow(request, "GET", "HEAD")
    bot = request.app[BOT_KEY]
    pending = await bot.store.read(lambda db: db.execute(
        "SELECT (SELECT COUNT(*) FROM messages WHERE status = 'new'), "
        "(SELECT COUNT(*) FROM outbox WHERE status = 'pending'), "
        "(SELECT COUNT(*) FROM app_events WHERE status = 'new')").fetchone())
    return web.json_response({"status": "ok", "unhandled_messages": pending[0], "outbox_pending": pending[1],
                              "unhandled_app_events": pending[2]})


async def serve(bot: Bot, host: str, port: int) -> None:
    """Run until SIGTERM or Ctrl-C; logs the address only once the socket is listening."""
    runner = web.AppRunner(make_app(bot), **server_options(bot.config))
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("listening on http://%s:%s", host, port)
    try:
        await until_stopped()
    finally:
        log.info("stopping")
        await runner.cleanup()


async def until_stopped() -> None:
    """Wait for SIGTERM or Ctrl-C (a service manager's stop, an operator's)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
