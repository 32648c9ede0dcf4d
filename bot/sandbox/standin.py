"""A local stand-in for WeCom's servers (webhook, app API, AI bot response_url) on 127.0.0.1;
the customer-contact endpoints (customer groups, 微信客服, template cards) live in standin_contact.py.

Used by the tests and by `xiaowei demo`; it speaks the documented protocol and records all traffic.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Literal

from aiohttp import web
from wechatpy.enterprise.crypto import PrpCrypto
from wechatpy.utils import WeChatSigner

from bot.clock import Clock
from bot.sandbox.standin_contact import (  # noqa: F401  (re-exported: tests and the demo import them here)
    CONTACT_ENDPOINTS, ERR_CARD_CODE, ERR_KF_ACCOUNT, ERR_KF_QUOTA, ERR_KF_TOKEN, ERR_REMIND_LIMIT,
    ERR_STATS_RANGE, ContactEndpoints)
from bot.sandbox.wire import ERRMSG
from bot.sandbox.wire import Reject as _Reject
from bot.sandbox.wire import cdata as _cdata

ENDPOINTS = ("webhook", "message", "gettoken", "response", "oauth") + CONTACT_ENDPOINTS
MAX_BODY = 1 << 20
WEBHOOK_MAX_BODY = 3 << 20       # an image message: 2 MB of picture, base64-encoded, in JSON
IMAGE_MAX = 2 << 20
OAUTH_CODE_TTL = timedelta(minutes=5)
ERR_OAUTH_CODE = 40029           # invalid code (path/96442)
WEBHOOK_PER_MINUTE = 20
MEMBER_PER_MINUTE = 30
TOKEN_TTL = timedelta(seconds=7200)
RESPONSE_URL_TTL = timedelta(hours=1)
TEXT_MAX, MARKDOWN_MAX, AIBOT_MARKDOWN_MAX = 2048, 4096, 20480  # bytes of UTF-8
APP_MARKDOWN_MAX = 2048  # message/send markdown is capped lower than a robot's
ERR_RESPONSE_CODE = 40001  # WeCom documents no code for a spent/expired response_url; this is our pick


Handler = Callable[[web.Request, bytes, datetime], dict[str, Any]]


def app_text(message: dict) -> str:
    """What a member reads in an app message: its text or markdown, or a card's titles, lines and buttons."""
    if message.get("msgtype") == "template_card":
        card = message.get("template_card") or {}
        title = card.get("main_title") or {}
        parts = [title.get("title", ""), title.get("desc", ""), card.get("sub_title_text", ""),
                 " ".join(f"[{b.get('text', '')}]" for b in card.get("button_list") or [])]
        return "\n".join(p for p in parts if p)
    return str(((message.get("text") or message.get("markdown")) or {}).get("content", ""))


def _key_from_seed(seed: str) -> str:
    """A fixed 43-char EncodingAESKey, so demo configs stay stable across runs."""
    return base64.b64encode(hashlib.sha256(seed.encode()).digest()).decode().rstrip("=")


@dataclass(frozen=True)
class RequestRecord:
    endpoint: str        # one of ENDPOINTS
    path: str
    target: str          # webhook key, touser, corpid or response_code
    errcode: int | None  # None: the connection was dropped, or an HTTP error came without a WeCom answer
    at: datetime
    http_status: int = 200


@dataclass(frozen=True)
class _HttpError:
    status: int


_PASS = "pass"     # a queued call let through untouched, ahead of an injected fault


class WeComStandIn(ContactEndpoints):
    def __init__(
        self,
        clock: Clock,
        *,
        corp_id: str = "wwstandin",
        corp_secret: str = "standin-secret",
        agent_id: int = 1000002,
        app_token: str = "standinAppToken",
        app_aes_key: str = _key_from_seed("xiaowei standin app"),
        aibot_token: str = "standinBotToken",
        aibot_aes_key: str = _key_from_seed("xiaowei standin aibot"),
        aibot_id: str = "aibstandin",
        bot_name: str = "小微",
        webhook_keys: Iterable[str] | None = None,  # None: any non-empty key is a live robot
    ):
        self.clock = clock
        self.corp_id, self.corp_secret, self.agent_id = corp_id, corp_secret, agent_id
        self.app_token, self.app_aes_key = app_token, app_aes_key
        self.aibot_token, self.aibot_aes_key = aibot_token, aibot_aes_key
        self.aibot_id, self.bot_name = aibot_id, bot_name
        self.webhook_keys = set(webhook_keys) if webhook_keys is not None else None
        self.url = ""
        self.robot_messages: dict[str, list[dict]] = defaultdict(list)
        self.app_messages: list[dict] = []
        self.response_posts: dict[str, dict] = {}
        self.requests: list[RequestRecord] = []
        self._faults: dict[str, deque[int | None | _HttpError | str]] = {e: deque() for e in ENDPOINTS}
        self._windows: dict[str, deque[datetime]] = defaultdict(deque)
        self._tokens: dict[str, datetime] = {}  # token -> expiry
        self._response_codes: dict[str, datetime] = {}  # unused code -> issued at
        self._oauth_codes: dict[str, tuple[str, datetime]] = {}  # unused web sign-in code -> (userid, issued at)
        self.oauth_user: str | None = None   # who "is signed in to WeCom" in the browser that opens authorize
        self._runner: web.AppRunner | None = None
        self._init_contact()

    # -- lifecycle -------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._message_send)
        app.router.add_post("/cgi-bin/webhook/send", self._webhook_send)
        app.router.add_post("/cgi-bin/aibot/response", self._aibot_response)
        app.router.add_post("/cgi-bin/message/update_template_card", self._update_template_card)
        app.router.add_get("/cgi-bin/auth/getuserinfo", self._getuserinfo)
        app.router.add_get("/connect/oauth2/authorize", self._authorize)
        for path, (endpoint, target_key, handler) in self._contact_routes().items():
            app.router.add_post(path, self._route(endpoint, target_key, handler))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> WeComStandIn:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def webhook_url(self, key: str) -> str:
        return f"{self.url}/cgi-bin/webhook/send?key={key}"

    def delivered(self) -> list[tuple[str, str]]:
        """Every text the stand-in accepted, as (channel:recipient, text): group robots, app messages (cards as
        their member reads them), response URLs, 微信客服, customer-group sends, card updates."""
        sent = [(f"robot:{key}", m.get("text", m.get("markdown", {})).get("content", ""))
                for key, msgs in self.robot_messages.items() for m in msgs]
        sent += [(f"app:{m['touser']}", app_text(m)) for m in self.app_messages]
        sent += [(f"response:{code}", p["markdown"]["content"]) for code, p in self.response_posts.items()]
        sent += [(f"kf:{user}", m["text"]["content"]) for user, msgs in self.kf_sent.items() for m in msgs]
        sent += [(f"group:{chat}", m["text"]) for chat, msgs in self.customer_group_messages.items() for m in msgs]
        sent += [(f"card:{u['task_id']}", u["button"]["replace_name"]) for u in self.card_updates]
        return sent

    # -- fault injection ---------------------------------------------------------
    def fail_next(self, endpoint: str, errcode: int, times: int = 1) -> None:
        self._fault_queue(endpoint).extend([errcode] * times)

    def disconnect_next(self, endpoint: str, times: int = 1, *, after: int = 0) -> None:
        """Drop the connection unanswered (after letting `after` calls through: a pull cut between pages).
        aiohttp clients retry an idempotent GET once by themselves, so a gettoken drop is only visible to them
        with times=2."""
        self._fault_queue(endpoint).extend([_PASS] * after + [None] * times)

    def http_error_next(self, endpoint: str, status: int = 502, times: int = 1) -> None:
        """Answer with an HTTP error and no WeCom body, as an overloaded front end or a proxy does."""
        self._fault_queue(endpoint).extend([_HttpError(status)] * times)

    def clear_faults(self, endpoint: str | None = None) -> None:
        """The outage is over: drop the faults still queued (for one endpoint, or all)."""
        for name in (endpoint,) if endpoint else ENDPOINTS:
            self._fault_queue(name).clear()

    def expire_tokens(self) -> None:
        now = self.clock.now()
        self._tokens = {token: now for token in self._tokens}

    def _fault_queue(self, endpoint: str) -> deque[int | None | _HttpError | str]:
        if endpoint not in self._faults:
            raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {ENDPOINTS}")
        return self._faults[endpoint]

    # -- request plumbing ----------------------------------------------------------
    async def _serve(self, request: web.Request, endpoint: str, handle: Handler,
                     target: str | None = None, target_key: str = "touser") -> web.StreamResponse:
        """Apply injected faults, run the handler, answer HTTP 200 + errcode like WeCom, log it."""
        now = self.clock.now()
        raw = await self._read_capped(request)
        if target is None:
            target = self._body_target(raw, target_key)
        queue = self._faults[endpoint]
        fault = queue.popleft() if queue else _PASS
        if fault != _PASS:
            if isinstance(fault, _HttpError):
                self.requests.append(RequestRecord(endpoint, request.path, target, None, now, fault.status))
                return web.Response(status=fault.status, text="standin injected HTTP error")
            self.requests.append(RequestRecord(endpoint, request.path, target, fault, now))
            if fault is None:
                assert request.transport is not None
                request.transport.abort()
                return web.Response()  # never written: the socket is already gone
            return web.json_response(self._error(fault, ERRMSG.get(fault, "standin injected error")))
        try:
            answer = {"errcode": 0, "errmsg": "ok", **handle(request, raw, now)}
        except _Reject as rej:
            answer = self._error(rej.errcode, rej.errmsg)
        self.requests.append(RequestRecord(endpoint, request.path, target, answer["errcode"], now))
        return web.json_response(answer, dumps=lambda o: json.dumps(o, ensure_ascii=False))

    @staticmethod
    async def _read_capped(request: web.Request) -> bytes:
        # Read past the cap by one chunk at most, so an oversized body is refused, not buffered.
        cap = WEBHOOK_MAX_BODY if request.path == "/cgi-bin/webhook/send" else MAX_BODY
        chunks, size = [], 0
        while size <= cap and (chunk := await request.content.read(64 * 1024)):
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)

    @staticmethod
    def _body_target(raw: bytes, key: str = "touser") -> str:
        """The app API names its recipients in the body, so the request log reads touser (or key) there."""
        try:
            value = json.loads(raw).get(key) or ""
        except (ValueError, AttributeError):
            return ""
        return "|".join(map(str, value)) if isinstance(value, list) else str(value)

    @staticmethod
    def _error(errcode: int, errmsg: str) -> dict[str, Any]:
        hint = secrets.token_hex(12)
        return {"errcode": errcode, "errmsg": f"{errmsg}, hint: [{hint}], from ip: 127.0.0.1, "
                f"more info at https://open.work.weixin.qq.com/devtool/query?e={errcode}"}

    @staticmethod
    def _json_body(raw: bytes, cap: int = MAX_BODY) -> dict[str, Any]:
        if len(raw) > cap:
            raise _Reject(40035, "invalid parameter, request body too large")
        try:
            body = json.loads(raw)
        except ValueError:
            raise _Reject(40035) from None
        if not isinstance(body, dict):
            raise _Reject(40035)
        return body

    @staticmethod
    def _content(body: dict, msgtype: str, limit: int, allowed: tuple[str, ...]) -> str:
        if msgtype not in allowed or not isinstance(body.get(msgtype), dict):
            raise _Reject(40008)
        content = body[msgtype].get("content")
        if not isinstance(content, str) or not content:
            raise _Reject(44004)
        if len(content.encode("utf-8")) > limit:
            raise _Reject(40058, f"{msgtype}.content exceed max length {limit}. invalid Request Parameter")
        return content

    def _check_token(self, token: str, now: datetime) -> None:
        if not token:
            raise _Reject(41001)
        if token not in self._tokens:
            raise _Reject(40014)
        if self._tokens[token] <= now:
            raise _Reject(42001)

    def _has_room(self, window_key: str, per_minute: int, now: datetime) -> bool:
        window = self._windows[window_key]
        while window and window[0] <= now - timedelta(seconds=60):
            window.popleft()
        return len(window) < per_minute

    # -- endpoints ---------------------------------------------------------------
    async def _webhook_send(self, request: web.Request) -> web.StreamResponse:
        key = request.query.get("key", "")

        def handle(req: web.Request, raw: bytes, now: datetime) -> dict:
            if not key or (self.webhook_keys is not None and key not in self.webhook_keys):
                raise _Reject(93000)
            body = self._json_body(raw, WEBHOOK_MAX_BODY)
            msgtype = body.get("msgtype")
            if msgtype == "image":
                self._image(body)
            else:
                limit = TEXT_MAX if msgtype == "text" else MARKDOWN_MAX
                self._content(body, str(msgtype), limit, ("text", "markdown"))
            if not self._has_room(f"webhook:{key}", WEBHOOK_PER_MINUTE, now):
                raise _Reject(45009)
            self._windows[f"webhook:{key}"].append(now)
            self.robot_messages[key].append(body)
            return {}

        return await self._serve(request, "webhook", handle, key)

    @staticmethod
    def _image(body: dict) -> None:
        """path/99110: image.base64 (the picture, at most 2 MB before encoding, JPG or PNG) and its md5."""
        image = body.get("image")
        if not isinstance(image, dict) or not isinstance(image.get("base64"), str) or not image.get("md5"):
            raise _Reject(40008)
        try:
            picture = base64.b64decode(image["base64"], validate=True)
        except ValueError:
            raise _Reject(40008) from None
        if len(picture) > IMAGE_MAX or not picture.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
            raise _Reject(40009, "invalid image size")
        if hashlib.md5(picture).hexdigest() != image["md5"]:
            raise _Reject(40008, "md5 mismatch")

    # -- web OAuth (path/91022, path/96442) ------------------------------------------
    def oauth_code(self, userid: str) -> str:
        """What WeCom appends to the redirect when member `userid` opens an OAuth link: a single-use code."""
        code = secrets.token_urlsafe(24)
        self._oauth_codes[code] = (userid, self.clock.now())
        return code

    async def _authorize(self, request: web.Request) -> web.StreamResponse:
        """WeCom's browser step: the member signed in (oauth_user) is sent back to redirect_uri with a code."""
        q = request.query
        if q.get("appid") != self.corp_id or q.get("scope") != "snsapi_base" or not q.get("redirect_uri"):
            return web.Response(status=400, text="bad authorize request")
        if self.oauth_user is None:
            return web.Response(status=403, text="not signed in to WeCom")
        sep = "&" if "?" in q["redirect_uri"] else "?"
        state = q.get("state", "")
        raise web.HTTPFound(f"{q['redirect_uri']}{sep}code={self.oauth_code(self.oauth_user)}&state={state}")

    async def _getuserinfo(self, request: web.Request) -> web.StreamResponse:
        token, code = request.query.get("access_token", ""), request.query.get("code", "")

        def handle(req: web.Request, raw: bytes, now: datetime) -> dict:
            self._check_token(token, now)
            userid, issued = self._oauth_codes.pop(code, ("", now))
            if not userid or now - issued > OAUTH_CODE_TTL:
                raise _Reject(ERR_OAUTH_CODE, "invalid code")
            return {"userid": userid}

        return await self._serve(request, "oauth", handle, code[:8])

    async def _gettoken(self, request: web.Request) -> web.StreamResponse:
        corpid = request.query.get("corpid", "")

        def handle(req: web.Request, raw: bytes, now: datetime) -> dict:
            if corpid != self.corp_id:
                raise _Reject(40013)
            if req.query.get("corpsecret") != self.corp_secret:
                raise _Reject(40001)
            # Like WeCom: a still-valid token is handed out again rather than replaced.
            live = [(exp, tok) for tok, exp in self._tokens.items() if exp > now]
            if live:
                expiry, token = max(live)
            else:
                token, expiry = "standin-" + secrets.token_urlsafe(24), now + TOKEN_TTL
                self._tokens[token] = expiry
            return {"access_token": token, "expires_in": int((expiry - now).total_seconds())}

        return await self._serve(request, "gettoken", handle, corpid)

    def _app_body(self, token: str, raw: bytes, now: datetime) -> dict:
        """An app API call's JSON body, once its token and agentid are the app's own."""
        self._check_token(token, now)
        body = self._json_body(raw)
        if str(body.get("agentid")) != str(self.agent_id):
            raise _Reject(40056)
        return body

    async def _message_send(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("access_token", "")

        def handle(req: web.Request, raw: bytes, now: datetime) -> dict:
            body = self._app_body(token, raw, now)
            members = [m for m in str(body.get("touser") or "").split("|") if m]
            if not members:
                raise _Reject(81013)
            msgtype = str(body.get("msgtype"))
            card = self._template_card(body) if msgtype == "template_card" else None
            if card is None:
                # App text over 2048 bytes is truncated by WeCom, not refused; markdown over 2048 is refused.
                content = self._content(body, msgtype, 1 << 30 if msgtype == "text" else APP_MARKDOWN_MAX,
                                        ("text", "markdown"))
            if any(not self._has_room(f"member:{m}", MEMBER_PER_MINUTE, now) for m in members):
                raise _Reject(45009)
            for m in members:
                self._windows[f"member:{m}"].append(now)
            if card is not None:
                self.app_messages.append(body)
                return self._issue_card(card, members, now)
            if msgtype == "text":
                cut = content.encode("utf-8")[:TEXT_MAX].decode("utf-8", "ignore")
                body = {**body, "text": {**body["text"], "content": cut}}
            self.app_messages.append(body)
            return {"invaliduser": ""}

        return await self._serve(request, "message", handle)

    async def _aibot_response(self, request: web.Request) -> web.StreamResponse:
        code = request.query.get("response_code", "")

        def handle(req: web.Request, raw: bytes, now: datetime) -> dict:
            issued = self._response_codes.get(code)
            if issued is None or now - issued >= RESPONSE_URL_TTL:
                raise _Reject(ERR_RESPONSE_CODE, "invalid response_code, used or expired")
            body = self._json_body(raw)
            self._content(body, str(body.get("msgtype")), AIBOT_MARKDOWN_MAX, ("markdown",))
            del self._response_codes[code]  # usable once
            self.response_posts[code] = body
            return {}

        return await self._serve(request, "response", handle, code)

    # -- what WeCom would send to our server ----------------------------------------
    def new_response_url(self) -> str:
        if not self.url:
            raise RuntimeError("start the stand-in before minting response URLs")
        code = secrets.token_urlsafe(32)
        self._response_codes[code] = self.clock.now()
        return f"{self.url}/cgi-bin/aibot/response?response_code={code}"

    def aibot_message(self, *, chatid: str | None, userid: str, text: str, chattype: str = "group",
                      msgid: str | None = None, quote: str | None = None) -> dict:
        """A plaintext AI bot text callback; group messages carry the @mention WeCom includes."""
        payload: dict[str, Any] = {
            "msgid": msgid or secrets.token_hex(16),
            "aibotid": self.aibot_id,
            "chattype": chattype,
            "from": {"userid": userid},
            "response_url": self.new_response_url(),
            "msgtype": "text",
            "text": {"content": f"@{self.bot_name} {text}" if chattype == "group" else text},
        }
        if chatid is not None:
            payload["chatid"] = chatid
        if quote is not None:
            payload["quote"] = {"msgtype": "text", "text": {"content": quote}}
        return payload

    def _sign_and_encrypt(self, which: Literal["aibot", "app"], plaintext: str) -> dict[str, str]:
        # Encrypt with wechatpy's reference code, not ours, so the tests cross-check two implementations.
        token, aes_key, receive_id = (
            (self.aibot_token, self.aibot_aes_key, "") if which == "aibot"
            else (self.app_token, self.app_aes_key, self.corp_id))
        key = base64.b64decode(aes_key + "=")
        ciphertext = PrpCrypto(key).encrypt(plaintext, receive_id).decode("ascii")
        timestamp, nonce = str(int(self.clock.now().timestamp())), str(secrets.randbelow(10**10))
        signer = WeChatSigner()
        signer.add_data(token, timestamp, nonce, ciphertext)
        return {"msg_signature": signer.signature, "timestamp": timestamp, "nonce": nonce,
                "ciphertext": ciphertext}

    def seal_aibot(self, payload: dict | str) -> tuple[dict[str, str], bytes]:
        """Query and body of an AI bot callback; a str payload is sealed as it is (any JSON, or none)."""
        plaintext = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        sealed = self._sign_and_encrypt("aibot", plaintext)
        ciphertext = sealed.pop("ciphertext")
        return sealed, json.dumps({"encrypt": ciphertext}).encode()

    def app_message_xml(self, *, userid: str, text: str, msgid: str | None = None) -> str:
        return (f"<xml><ToUserName>{_cdata(self.corp_id)}</ToUserName>"
                f"<FromUserName>{_cdata(userid)}</FromUserName>"
                f"<CreateTime>{int(self.clock.now().timestamp())}</CreateTime>"
                f"<MsgType>{_cdata('text')}</MsgType><Content>{_cdata(text)}</Content>"
                f"<MsgId>{msgid or secrets.randbits(63)}</MsgId><AgentID>{self.agent_id}</AgentID></xml>")

    def seal_app(self, *, userid: str, text: str, msgid: str | None = None) -> tuple[dict[str, str], bytes]:
        return self.seal_app_xml(self.app_message_xml(userid=userid, text=text, msgid=msgid))

    def seal_app_xml(self, inner: str) -> tuple[dict[str, str], bytes]:
        """Query and body of an app callback whose decrypted message is `inner`, whatever it holds."""
        sealed = self._sign_and_encrypt("app", inner)
        ciphertext = sealed.pop("ciphertext")
        body = (f"<xml><ToUserName>{_cdata(self.corp_id)}</ToUserName><Encrypt>{_cdata(ciphertext)}</Encrypt>"
                f"<AgentID>{_cdata(str(self.agent_id))}</AgentID></xml>")
        return sealed, body.encode()

    def url_check(self, which: Literal["aibot", "app"]) -> tuple[dict[str, str], str]:
        """The GET WeCom sends when the callback URL is saved: (query incl. echostr, expected body)."""
        plaintext = str(secrets.randbits(63))
        sealed = self._sign_and_encrypt(which, plaintext)
        sealed["echostr"] = sealed.pop("ciphertext")
        return sealed, plaintext
