"""The HTTP face: WeCom's two callbacks, the bridge, and a health check.

Each view only verifies, parses and stores (committed before it answers 200), then hands the message over;
nothing slow happens while WeCom waits."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import datetime
from typing import Any, Mapping

from aiohttp import web

from bot.app import Bot
from bot.clock import TZ
from bot.crypto import CallbackCrypto, CallbackError, MalformedCallback
from bot.inbox import Message

log = logging.getLogger("xiaowei.server")

MAX_BODY = 64 * 1024
BOT_KEY = web.AppKey("bot", Bot)


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
    return web.Response(status=exc.status, text={403: "signature mismatch", 413: "too large"}.get(exc.status, "bad request"))


async def _callback(request: web.Request, crypto: CallbackCrypto | None, channel: str, open_body) -> web.Response:
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
        msg = open_body(request.app[BOT_KEY], crypto, request.query, body)
    except CallbackError as exc:
        return refuse(exc, channel)
    except web.HTTPRequestEntityTooLarge:
        log.warning("%s callback refused (413)", channel)
        raise
    if msg is not None:
        await request.app[BOT_KEY].receive(msg)
    return web.Response(status=200, text="")


async def aibot_callback(request: web.Request) -> web.Response:
    return await _callback(request, request.app[BOT_KEY].aibot_crypto, "aibot", _open_aibot)


async def app_callback(request: web.Request) -> web.Response:
    return await _callback(request, request.app[BOT_KEY].app_crypto, "app", _open_app)


def _open_aibot(bot: Bot, crypto: CallbackCrypto, query: Mapping[str, str], body: bytes) -> Message | None:
    data = crypto.open_aibot_json(query, body)
    try:
        msgid = str(data["msgid"])
        msgtype = data.get("msgtype", "")
        chattype = "group" if data.get("chattype") == "group" else "single"
        sender = str(data["from"]["userid"])
    except (KeyError, TypeError) as exc:
        raise MalformedCallback(f"aibot message lacks {exc}") from None
    if msgtype == "event":
        return None  # enter_chat and the like: nothing to keep
    return Message(channel="aibot", msgid=msgid, chattype=chattype, sender=sender, text=_aibot_text(data),
                   received_at=bot.clock.now(), chat_id=data.get("chatid"),
                   village=bot.config.village_by_chat(data.get("chatid")) if chattype == "group" else None,
                   response_url=data.get("response_url"), mentions_bot=True)


def _aibot_text(data: dict[str, Any]) -> str:
    if data.get("msgtype") == "text":
        return str((data.get("text") or {}).get("content", ""))
    if data.get("msgtype") == "mixed":
        items = (data.get("mixed") or {}).get("msg_item", [])
        return "".join(str((i.get("text") or {}).get("content", "")) for i in items if i.get("msgtype") == "text")
    if data.get("msgtype") == "voice":
        return str((data.get("voice") or {}).get("content", ""))
    return ""


def _open_app(bot: Bot, crypto: CallbackCrypto, query: Mapping[str, str], body: bytes) -> Message | None:
    data = crypto.open_app_xml(query, body)
    if data.get("MsgType") != "text":
        return None  # events (enter_agent, …) and media are not requests we can read
    if not data.get("MsgId") or not data.get("FromUserName"):
        raise MalformedCallback("app message lacks MsgId or FromUserName")
    return Message(channel="app", msgid=data["MsgId"], chattype="single", sender=data["FromUserName"],
                   text=data.get("Content", ""), received_at=bot.clock.now(), mentions_bot=True)


async def bridge(request: web.Request) -> web.Response:
    """Every group message from a chat-archive export or gateway. Format: see README, "The bridge"."""
    bot = request.app[BOT_KEY]
    secret = bot.config.bridge.secret
    if not secret:
        return web.Response(status=404, text="bridge is not configured")
    body = await request.read()
    stamp = request.headers.get("X-Xiaowei-Timestamp", "")
    given = request.headers.get("X-Xiaowei-Signature", "")
    expected = bridge_signature(secret, stamp, body)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        log.warning("bridge refused (403): signature mismatch")
        return web.Response(status=403, text="signature mismatch")
    if not stamp.isdigit() or abs(bot.clock.now().timestamp() - int(stamp)) > bot.config.bridge.max_age_seconds:
        log.warning("bridge refused (403): stale timestamp")
        return web.Response(status=403, text="timestamp too old")
    try:
        data = json.loads(body)
        msg = Message(
            channel="bridge", msgid=str(data["msgid"]), chattype="group", sender=str(data["sender"]["userid"]),
            sender_name=str(data["sender"].get("name", "")), text=str(data.get("text", "")),
            received_at=_sent_at(data.get("sent_at"), bot), chat_id=str(data["chat_id"]),
            village=bot.config.village_by_chat(str(data["chat_id"])), mentions_bot=bool(data.get("mentions_bot")))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("bridge refused (400): %s", type(exc).__name__)
        return web.Response(status=400, text="malformed bridge message")
    await bot.receive(msg)
    return web.Response(status=200, text="")


def bridge_signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _sent_at(value: Any, bot: Bot) -> datetime:
    if value is None:
        return bot.clock.now()
    when = datetime.fromisoformat(str(value))
    return when.astimezone(TZ) if when.tzinfo else when.replace(tzinfo=TZ)


async def healthz(request: web.Request) -> web.Response:
    bot = request.app[BOT_KEY]
    pending = await bot.store.read(lambda db: db.execute(
        "SELECT (SELECT COUNT(*) FROM messages WHERE status = 'new'), "
        "(SELECT COUNT(*) FROM outbox WHERE status = 'pending')").fetchone())
    return web.json_response({"status": "ok", "unhandled_messages": pending[0], "outbox_pending": pending[1]})


async def serve(bot: Bot, host: str, port: int) -> None:
    """Run until SIGTERM or Ctrl-C; logs the address only once the socket is listening."""
    import asyncio
    import signal
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
