"""The desk's report pages and their Excel files: the clue ledger (inspectors and the county; every view and export
sealed), the monthly assessment per village and cadre, the recurring topics and the 入户走访 visit list. Built like
views.py's pages: who is asking, access.Scope, a read on a reader thread, a template or `download`."""
from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from bot import exports
from bot.assessment import previous_month
from bot.clue_ledger import OUTCOMES, RECEIVED, STEPS
from bot.clock import TZ
from bot.config import Village
from bot.desk import report_data
from bot.desk.access import Scope
from bot.desk.views import _bot, _refused, _scope, _today, download, seal_views

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
WEEKS = (4, 8, 12, 26)
ONLY_INSPECTORS = "问题线索台账只有纪委可以查看。"
ONLY_REPORTS = "月度考核和问题趋势只有纪委和挂包领导可以查看。"
ONLY_VISITS = "入户走访名单里有群众的身份信息，只有纪委可以查看。"


# --- what is asked, and who may see it ---------------------------------------------------------------

def _month(request: web.Request, default: bool = True) -> str | None:
    """?month=2026-11; by default the last whole month (what the monthly assessment reports)."""
    raw = request.query.get("month", "").strip()
    if not raw:
        return f"{previous_month(_bot(request).clock.now().astimezone(TZ).date()):%Y-%m}" if default else None
    if not MONTH.fullmatch(raw):
        raise _refused(request, "月份应写成 2026-12 这样。", 400)
    return raw


def _weeks(request: web.Request) -> int:
    raw = request.query.get("weeks", "4")
    if not raw.isdigit() or int(raw) not in WEEKS:
        raise _refused(request, "只能看近 4、8、12 或 26 周。", 400)
    return int(raw)


def _wanted_town(request: web.Request) -> str:
    town = request.query.get("town", "")
    if town and town not in {t.name for t in _bot(request).config.towns}:
        raise web.HTTPNotFound(text="no such town")
    return town


def _clue_towns(request: web.Request, scope: Scope) -> list[str]:
    wanted = _wanted_town(request)
    towns = [t.name for t in _bot(request).config.towns if scope.clues(t.name) and wanted in ("", t.name)]
    if not towns:
        raise _refused(request, ONLY_INSPECTORS)
    return towns


def _villages(request: web.Request, scope: Scope, may, why: str) -> list[Village]:
    """The villages (of ?town= when given) whose figures this person may see, by `may(town, village)`."""
    wanted = _wanted_town(request)
    found = [v for v in _bot(request).config.villages() if may(v.town, v.name) and wanted in ("", v.town)]
    if not found:
        raise _refused(request, why)
    return found


def _towns_of(request: web.Request, may) -> list[str]:
    """The towns offered in a page's town picker: those with a village this person may see."""
    return [t.name for t in _bot(request).config.towns if any(may(t.name, v.name) for v in t.villages)]


def _query(**values: str | None) -> str:
    """A page's choices as the query string of its export link."""
    return urlencode({k: v for k, v in values.items() if v})


def _label(*parts: str | None) -> str:
    return "-".join(p for p in parts if p)


# --- the clue ledger -----------------------------------------------------------------------------------

async def _ledger(request: web.Request, note: str):
    """The clues the filters chose, each view sealed in the audit chain before anything leaves (an export is a
    view of every clue in it): (scope, bot, month, entries)."""
    scope = _scope(request)
    bot = _bot(request)
    towns, month = _clue_towns(request, scope), _month(request, default=False)
    ledger = await bot.store.read(report_data.clue_entries, bot.config, bot.clock.now(), towns, month)
    await seal_views(bot, [e.case_id for e in ledger], scope.userid, note)
    return scope, bot, month, ledger


async def clues(request: web.Request) -> web.Response:
    scope, bot, month, ledger = await _ledger(request, "工作台查看线索台账")
    stages = Counter(e.stage for e in ledger)
    return aiohttp_jinja2.render_template("clues.html", request, {
        "scope": scope, "ledger": ledger, "town": request.query.get("town", ""), "month": month or "",
        "towns": [t.name for t in bot.config.towns if scope.clues(t.name)], "outcomes": OUTCOMES,
        "stages": [(s, stages[s]) for s in (RECEIVED, *STEPS) if stages[s]],
        "query": _query(town=request.query.get("town"), month=month)})


async def clues_xlsx(request: web.Request) -> web.Response:
    _, bot, month, ledger = await _ledger(request, "工作台导出线索台账")
    body = await bot.store.read(lambda db: exports.to_bytes(exports.ledger_book(ledger)))
    town = request.query.get("town", "")
    return download(body, _label("问题线索台账", town, month or _today(bot)) + ".xlsx",
                    _label("clues", month or _today(bot)) + ".xlsx")


# --- the monthly assessment ------------------------------------------------------------------------------

async def _assessment(request: web.Request):
    """The month's figures for the villages the filters and the viewer's scope allow: (scope, bot, month, result)."""
    scope = _scope(request)
    bot = _bot(request)
    month, villages = _month(request), _villages(request, scope, scope.assessment, ONLY_REPORTS)
    result = await bot.store.read(report_data.assessment, bot.config, bot.calendar, month, bot.clock.now(),
                                  villages)
    return scope, bot, month, result


async def assessment(request: web.Request) -> web.Response:
    scope, _, month, result = await _assessment(request)
    return aiohttp_jinja2.render_template("assessment.html", request, {
        "scope": scope, "a": result, "month": month, "town": request.query.get("town", ""),
        "towns": _towns_of(request, scope.assessment),
        "query": _query(month=month, town=request.query.get("town"))})


async def assessment_xlsx(request: web.Request) -> web.Response:
    _, bot, month, result = await _assessment(request)
    body = await bot.store.read(lambda db: exports.to_bytes(exports.assessment_workbook(result)))
    return download(body, _label("月度考核", month, request.query.get("town", "")) + ".xlsx",
                    f"assessment-{month}.xlsx")


# --- the trends --------------------------------------------------------------------------------------------

async def trends_page(request: web.Request) -> web.Response:
    scope = _scope(request)
    bot = _bot(request)
    weeks, villages = _weeks(request), _villages(request, scope, scope.assessment, ONLY_REPORTS)
    figures = await bot.store.read(report_data.trend_figures, bot.clock.now(), villages, weeks)
    return aiohttp_jinja2.render_template("trends.html", request, {
        "scope": scope, "t": figures, "weeks": WEEKS, "town": request.query.get("town", ""),
        "towns": _towns_of(request, scope.assessment),
        "visits": any(scope.clues(v.town) for v in villages)})


async def visits(request: web.Request) -> web.Response:
    scope = _scope(request)
    bot = _bot(request)
    weeks = _weeks(request)
    villages = _villages(request, scope, lambda town, _village: scope.clues(town), ONLY_VISITS)
    found = await bot.store.read(report_data.visits, bot.clock.now(), villages, weeks)
    return aiohttp_jinja2.render_template("visits.html", request, {
        "scope": scope, "visits": found, "weeks": WEEKS, "chosen": weeks, "town": request.query.get("town", ""),
        "towns": [t.name for t in bot.config.towns if scope.clues(t.name)]})


ROUTES = (("/desk/clues", clues), ("/desk/clues.xlsx", clues_xlsx), ("/desk/assessment", assessment),
          ("/desk/assessment.xlsx", assessment_xlsx), ("/desk/trends", trends_page), ("/desk/visits", visits))
