"""The desk's pages: each view finds who is asking, asks access.Scope whether they may see it, reads on a reader
thread, and renders a template. Every view of a clue is sealed in the audit chain before it is shown.

A new page is one view here plus one template extending base.html, and a line in ROUTES: `scope = _scope(request)`,
refuse unless `scope.town(...)` / `scope.clues(...)` allows it, `await bot.store.read(library_fn, ...)`, render.
A new export is the same with `download(workbook, name)`; a clue export seals its views. The clue ledger, the
assessment and the trends (with their exports) are in reports.py, on the same helpers."""
from __future__ import annotations

import logging
from importlib.resources import files
from urllib.parse import quote

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot import cases, exports, wording
from bot.app import Bot
from bot.cases import KIND_NAMES, LEVEL_NAMES, REQUEST_KINDS, STATUS_NAMES, Case
from bot.casework import ACTION_NAMES
from bot.channels.wecom import WeComError
from bot.clock import TZ
from bot.desk import charts, queries, session, tokens
from bot.desk.access import Scope, scope_of
from bot.desk.publicity import town_summary, village_page
from bot.desk.queries import FLAG_NAMES, STATUS_CHOICES, BadFilter, Filter
from bot.publicity_due import LOOKBACK

log = logging.getLogger("xiaowei.desk")
BOT = web.AppKey("desk_bot", Bot)
STATIC = ("desk.css",)


def setup(app: web.Application, bot: Bot) -> None:
    app[BOT] = bot
    env = aiohttp_jinja2.setup(app, loader=jinja2.PackageLoader("bot.desk", "templates"), autoescape=True)
    env.filters["moment"] = lambda d: d.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if d else ""
    env.globals.update(KIND_NAMES=KIND_NAMES, STATUS_NAMES=STATUS_NAMES, LEVEL_NAMES=LEVEL_NAMES)


# --- who is asking -----------------------------------------------------------------------------------------

def _bot(request: web.Request) -> Bot:
    bot = request.app[BOT]
    if not bot.config.desk.secret:
        raise web.HTTPNotFound(text="desk is not configured")
    return bot


def _scope(request: web.Request) -> Scope:
    bot = _bot(request)
    userid = session.who(bot.config, request, bot.clock.now())
    if userid is None:
        raise web.HTTPFound("/desk/login")
    scope = scope_of(bot.config, bot.roles, userid)
    if not scope.anything:
        raise _refused(request, "您的企业微信账号没有查看工作台的权限。")
    return scope


def _refused(request: web.Request, why: str, status: int = 403) -> web.HTTPException:
    body = aiohttp_jinja2.render_string("refused.html", request, {"why": why})
    return (web.HTTPForbidden if status == 403 else web.HTTPBadRequest)(text=body, content_type="text/html")


def _filter(request: web.Request) -> Filter:
    try:
        return Filter.parse(request.query)
    except BadFilter as exc:
        raise _refused(request, f"筛选条件 {exc} 不正确。", 400) from None


# --- signing in --------------------------------------------------------------------------------------------

async def login(request: web.Request) -> web.Response:
    bot = _bot(request)
    url = session.oauth_url(bot.config, request, bot.clock.now())
    if "wxwork" in request.headers.get("User-Agent", "").lower():
        raise web.HTTPFound(url)          # inside WeCom's browser: sign in silently
    return aiohttp_jinja2.render_template("login.html", request, {"oauth": url})


async def oauth(request: web.Request) -> web.Response:
    bot = _bot(request)
    code, state = request.query.get("code", ""), request.query.get("state", "")
    if not code or len(code) > 512:
        raise _refused(request, "登录失败：企业微信没有给出身份。请从企业微信里重新打开。", 400)
    try:
        tokens.check_state(bot.config.desk.secret, state, bot.clock.now())
        if bot.client is None:
            raise WeComError(-1, "no WeCom client")
        userid = await bot.client.user_by_code(code)
    except (tokens.BadToken, WeComError) as exc:
        log.warning("desk sign-in refused: %s", type(exc).__name__)
        raise _refused(request, "登录失败或已过期，请从企业微信里重新打开工作台。") from None
    raise session.signed_in(bot.config, request, userid, bot.clock.now())


async def link(request: web.Request) -> web.Response:
    bot = _bot(request)
    try:
        userid = tokens.verify(bot.config.desk.secret, "link", request.query.get("t", ""), bot.clock.now())
    except tokens.BadToken:
        raise _refused(request, "这个登录链接已失效。请在企业微信里给小微发“工作台”，获取新的链接。") from None
    raise session.signed_in(bot.config, request, userid, bot.clock.now())


async def logout(request: web.Request) -> web.Response:
    response = web.HTTPFound("/desk/login")
    response.del_cookie(session.COOKIE, path="/desk")
    raise response


# --- pages -------------------------------------------------------------------------------------------------

async def home(request: web.Request) -> web.Response:
    scope = _scope(request)
    bot = _bot(request)
    towns = [t for t in bot.config.towns if scope.town(t.name)]
    villages = [v for v in bot.config.villages() if v.name in scope.villages and not scope.town(v.town)]
    return aiohttp_jinja2.render_template("home.html", request, {"scope": scope, "towns": towns,
                                                                  "villages": villages})


def _town_of(request: web.Request, scope: Scope):
    bot = _bot(request)
    name = request.match_info["town"]
    if name not in {t.name for t in bot.config.towns}:
        raise web.HTTPNotFound(text="no such town")
    if not scope.town(name):
        raise _refused(request, "您只能查看自己负责的镇、村。")
    return bot.config.town(name)


async def town(request: web.Request) -> web.Response:
    scope = _scope(request)
    bot = _bot(request)
    t = _town_of(request, scope)
    rows, totals = await bot.store.read(queries.overview, list(t.villages), bot.clock.now(), bot.calendar,
                                        bot.config.rules.unanswered_hours)
    return aiohttp_jinja2.render_template("town.html", request, {
        "scope": scope, "town": t, "rows": rows, "totals": totals, "columns": [c[0] for c in queries.COLUMNS]})


async def town_chart(request: web.Request) -> web.Response:
    scope = _scope(request)
    bot = _bot(request)
    t = _town_of(request, scope)
    png = await chart_png(bot, t)
    return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "private, max-age=600"})


async def chart_png(bot: Bot, town) -> bytes:
    """The town's chart: figures read on a reader, drawn on a worker thread (never on the event loop)."""
    import asyncio
    data = await bot.store.read(queries.weekly, [v.name for v in town.villages], bot.clock.now())
    return await asyncio.to_thread(charts.render, f"{town.name}·近8周诉求", data)


def _visible(request: web.Request, scope: Scope, f: Filter) -> list[str]:
    bot = _bot(request)
    if not (scope.towns or scope.villages):
        raise _refused(request, "您没有查看诉求的权限。")
    if f.village:
        v = bot.config.village_by_name(f.village)
        if v is None:
            raise web.HTTPNotFound(text="no such village")
        if not scope.village(v.town, v.name):
            raise _refused(request, "您只能查看自己负责的村。")
        return [v.name]
    if f.town:
        if not scope.town(f.town):
            raise _refused(request, "您只能查看自己负责的镇、村。")
        return [v.name for v in bot.config.town(f.town).villages]
    return [v.name for v in bot.config.villages() if scope.village(v.town, v.name)]


async def _cases(request: web.Request) -> tuple[Scope, Filter, list[str], list[Case]]:
    scope = _scope(request)
    bot = _bot(request)
    f = _filter(request)
    names = _visible(request, scope, f)
    found = await bot.store.read(queries.case_list, names, f, bot.clock.now(), bot.calendar,
                                 bot.config.rules.unanswered_hours)
    return scope, f, names, found


async def case_list(request: web.Request) -> web.Response:
    scope, f, names, found = await _cases(request)
    bot = _bot(request)
    holders = {c.userid: c.display for name in names for c in bot.config.village_by_name(name).cadres}
    return aiohttp_jinja2.render_template("cases.html", request, {
        "scope": scope, "f": f, "villages": names, "cases": found[:queries.LIST_LIMIT], "total": len(found),
        "kinds": {k: KIND_NAMES[k] for k in REQUEST_KINDS}, "statuses": STATUS_CHOICES, "flags": FLAG_NAMES,
        "holders": holders, "export": f.query(), "name_of": lambda u: _name(bot, u, None)})


async def village(request: web.Request) -> web.Response:
    raise web.HTTPFound("/desk/cases?" + Filter(village=request.match_info["village"]).query())


async def cases_xlsx(request: web.Request) -> web.Response:
    """The list the filters chose, as Excel (the same cases, all of them, not only the first page)."""
    _, f, _, found = await _cases(request)
    bot = _bot(request)
    book = await bot.store.read(lambda db: exports.to_bytes(exports.case_book(found, bot.config, bot.clock.now())))
    where = f.village or f.town or ""
    return download(book, f"诉求{'-' + where if where else ''}-{_today(bot)}.xlsx", f"cases-{_today(bot)}.xlsx")


# --- 村务公开 (issue 15): open to everyone who sees the village's cases; 公示 are public by nature ---------------

async def village_publicity(request: web.Request) -> web.Response:
    scope = _scope(request)
    bot = _bot(request)
    v = bot.config.village_by_name(request.match_info["village"])
    if v is None:
        raise web.HTTPNotFound(text="no such village")
    if not scope.village(v.town, v.name):
        raise _refused(request, "您只能查看自己负责的村。")
    today = bot.clock.now().astimezone(TZ).date()
    page = await bot.store.read(village_page, bot.config, bot.calendar, v, today)
    return aiohttp_jinja2.render_template("publicity.html", request, {
        "scope": scope, "page": page, "today": today, "day": wording.day, "window": LOOKBACK.days,
        "name_of": lambda u: _name(bot, u, None)})


async def town_publicity(request: web.Request) -> web.Response:
    scope = _scope(request)
    bot = _bot(request)
    t = _town_of(request, scope)
    today = bot.clock.now().astimezone(TZ).date()
    rows = await bot.store.read(town_summary, bot.config, bot.calendar, list(t.villages), today)
    on_time, counted = sum(r.timeliness.on_time for r in rows), sum(r.timeliness.counted for r in rows)
    return aiohttp_jinja2.render_template("town_publicity.html", request, {
        "scope": scope, "town": t, "rows": rows, "on_time": on_time, "counted": counted, "window": LOOKBACK.days})


def _today(bot: Bot) -> str:
    return f"{bot.clock.now().astimezone(TZ).date():%Y-%m-%d}"


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(body: bytes, name: str, ascii_name: str) -> web.Response:
    """An .xlsx to save, named in Chinese (RFC 5987/6266 filename*), with an ASCII name for old clients."""
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return web.Response(body=body, content_type=XLSX, headers={"Content-Disposition": disposition,
                                                               "Cache-Control": "private, no-store"})


def _name(bot: Bot, userid: str, case: Case | None) -> str:
    if userid == "小微":
        return "小微"
    if case is not None and userid == case.requester:
        return "反映人" if case.confidential else "诉求人（群众）"
    person = bot.roles.person(userid)
    return person.display if person else ("管理员" if userid in bot.config.admins else "群众")


async def seal_views(bot: Bot, clue_ids: list[int], userid: str, where: str) -> None:
    """Every view of a clue is an event in the clue's own hash-chained history, sealed before it is shown."""
    if not clue_ids:
        return

    def tx(db, out) -> None:
        for clue_id in clue_ids:
            cases.append(db, clue_id, actor=userid, action="viewed", now=bot.clock.now(), note=where)
    await bot.commit(tx)


async def case_page(request: web.Request) -> web.Response:
    scope = _scope(request)
    bot = _bot(request)
    raw = request.match_info["case_id"]
    case = await bot.store.read(queries.case_by_id, int(raw)) if raw.isdigit() and len(raw) < 12 else None
    if case is None:
        raise web.HTTPNotFound(text="no such case")
    if not scope.case(case.town, case.village, case.confidential):
        raise _refused(request, "您没有查看这件事的权限。")
    if case.confidential:
        await seal_views(bot, [case.id], scope.userid, "工作台查看线索")
    events = await bot.store.read(queries.timeline, case.id)
    posts = await bot.store.read(queries.group_posts, bot.config, case)
    return aiohttp_jinja2.render_template("case.html", request, {
        "scope": scope, "case": case, "events": events, "posts": posts, "actions": ACTION_NAMES,
        "name_of": lambda u: _name(bot, u, case)})


async def status(request: web.Request) -> web.Response:
    scope = _scope(request)
    if not scope.status:
        raise _refused(request, "服务运行状态只有管理员可以查看。")
    bot = _bot(request)
    figures = await bot.store.read(queries.status)
    return aiohttp_jinja2.render_template("status.html", request, {"scope": scope, "s": figures})


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC:
        raise web.HTTPNotFound()
    body = (files("bot.desk") / "static" / name).read_bytes()
    return web.Response(body=body, content_type="text/css", headers={"Cache-Control": "public, max-age=3600"})


ROUTES = (("/desk", home), ("/desk/", home), ("/desk/login", login), ("/desk/oauth", oauth),
          ("/desk/link", link), ("/desk/logout", logout), ("/desk/town/{town}", town),
          ("/desk/town/{town}/chart.png", town_chart), ("/desk/village/{village}", village),
          ("/desk/cases", case_list), ("/desk/cases.xlsx", cases_xlsx), ("/desk/case/{case_id}", case_page),
          ("/desk/status", status),
          ("/desk/static/{name}", static),
          ("/desk/village/{village}/publicity", village_publicity), ("/desk/town/{town}/publicity", town_publicity))
