"""The web desk: signing in (signed link, WeCom web OAuth through the stand-in), every role on every page and
export, clue views sealed in the audit chain, and every number of the town page opening its own list."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import aiohttp
import pytest

from bot import audit
from bot.config import Config
from bot.desk import session, tokens
from tests.conftest import CHENGNAN, rows, start_service, stop_service

TOWN = "翠江镇"
REQUEST = "村口的路灯坏了好几天了，晚上走路看不见，麻烦尽快修一下"
REPORT = "会计把修路款转到自己老婆的账上，账本都做了假"
SHUANGHONG = "wrkSFfCgAAcnshuanghong"


def with_county(config: Config, userid: str = "xjw-zhou") -> Config:
    """The example configuration's county commission ([county] commission) holds 周正, xjw-zhou."""
    assert userid in {p.userid for p in config.county.commission}
    return config


async def browser(service, userid: str) -> aiohttp.ClientSession:
    """A browser signed in through the link the bot sends."""
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    url = session.link(service.bot.config, userid, service.bot.clock.now(), base_url=service.url(""))
    async with http.get(url, allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
    return http


async def get(http: aiohttp.ClientSession, service, path: str) -> tuple[int, str]:
    async with http.get(service.url(path), allow_redirects=False) as resp:
        body = await resp.read()
        return resp.status, body.decode("utf-8", "replace") if resp.content_type != "image/png" else ""


async def workbook(http: aiohttp.ClientSession, service, path: str, name: str | None = None):
    """An export, read back with openpyxl; `name`: the Chinese file name its Content-Disposition must give."""
    from io import BytesIO
    from urllib.parse import unquote

    from openpyxl import load_workbook
    async with http.get(service.url(path), allow_redirects=False) as resp:
        assert resp.status == 200, (path, resp.status)
        assert resp.content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        disposition = resp.headers["Content-Disposition"]
        body = await resp.read()
    assert disposition.startswith('attachment; filename="') and "filename*=UTF-8''" in disposition
    if name is not None:
        assert unquote(disposition.split("filename*=UTF-8''")[1]) == name, disposition
    return load_workbook(BytesIO(body))


async def seed(service, standin) -> dict[str, int]:
    """A request in 城南村, one in 双虹村, and a clue from 城南村; their case ids."""
    await service.aibot(standin, text=f"@小微 {REQUEST}", userid="res-a")
    await service.aibot(standin, text="@小微 请问今年的医保在哪里交，截止到什么时候", userid="res-b", chatid=SHUANGHONG)
    await service.aibot(standin, text=f"@小微 {REPORT}", userid="res-c")
    await service.bot.settle()
    found = {r["village"] + ("-clue" if r["kind"] == "report" else ""): r["id"]
             for r in rows(service.bot, "SELECT c.id, c.village, s.kind FROM cases c JOIN case_state s ON s.case_id = c.id")}
    assert set(found) == {"城南村", "双虹村", "城南村-clue"}, found
    return found


@pytest.fixture
async def county_service(config, clock):
    svc = await start_service(with_county(config), clock)
    yield svc
    await stop_service(svc)


PAGES = ("/desk", "/desk/town/翠江镇", "/desk/town/翠江镇/chart.png", "/desk/cases?village=城南村",
         "/desk/cases?village=双虹村", "/desk/cases.xlsx", "/desk/case/{城南村}", "/desk/case/{双虹村}",
         "/desk/case/{城南村-clue}", "/desk/clues", "/desk/clues.xlsx", "/desk/assessment?month=2026-12",
         "/desk/assessment.xlsx?month=2026-12", "/desk/trends", "/desk/visits", "/desk/status")
# The assessment and the topics: the inspectors, the county, and link leaders for the villages they hang on.
REPORTS = {"/desk/assessment?month=2026-12", "/desk/assessment.xlsx?month=2026-12", "/desk/trends"}
# What each role may open (200); everything else is refused (403).
ALLOWED = {
    "xjw-zhou": set(PAGES) - {"/desk/status"},                      # the county commission
    "zjw-hu": set(PAGES) - {"/desk/status"},                        # the town's inspector
    "zf-liu": {"/desk", "/desk/town/翠江镇", "/desk/town/翠江镇/chart.png", "/desk/cases?village=城南村",
               "/desk/cases?village=双虹村", "/desk/cases.xlsx", "/desk/case/{城南村}", "/desk/case/{双虹村}"}
    | REPORTS,                                                      # town staff, and 城南村's link leader
    "zf-wu": {"/desk", "/desk/cases?village=双虹村", "/desk/cases.xlsx", "/desk/case/{双虹村}"} | REPORTS,  # 双虹村's link leader
    "cn-zhang": {"/desk", "/desk/cases?village=城南村", "/desk/cases.xlsx", "/desk/case/{城南村}"},    # 城南村's secretary
    "xian-it-wang": {"/desk", "/desk/status"},                      # admin
    "resident-9": set(),                                            # anyone else
}
# 村务公开 (issue 15): a village's page for everyone who sees its cases; the town's summary as the town page.
PUBLICITY = {"/desk/village/城南村/publicity": {"xjw-zhou", "zjw-hu", "zf-liu", "cn-zhang"},
             "/desk/village/双虹村/publicity": {"xjw-zhou", "zjw-hu", "zf-liu", "zf-wu"},
             "/desk/town/翠江镇/publicity": {"xjw-zhou", "zjw-hu", "zf-liu"}}
PAGES += tuple(PUBLICITY)
for _page, _who in PUBLICITY.items():
    for _userid in _who:
        ALLOWED[_userid].add(_page)


async def test_every_role_on_every_page_and_export(county_service, standin):
    service = county_service
    ids = await seed(service, standin)
    for userid, allowed in ALLOWED.items():
        http = await browser(service, userid)
        try:
            for page in PAGES:
                path = re.sub(r"\{(.+?)\}", lambda m: str(ids[m[1]]), page)
                status, body = await get(http, service, path)
                assert status == (200 if page in allowed else 403), (userid, page, status)
                if "clue" not in page and "clues" not in page and userid not in ("zjw-hu", "xjw-zhou"):
                    assert "修路款" not in body, (userid, page)      # no clue text anywhere a non-inspector looks
                if status == 403:
                    assert "权限" in body or "只能" in body or "只有" in body, (userid, page)
        finally:
            await http.close()
    # A cadre's export holds his own village's cases only.
    http = await browser(service, "cn-zhang")
    book = await workbook(http, service, "/desk/cases.xlsx")
    await http.close()
    cells = [c for row in book["诉求"].iter_rows(values_only=True) for c in row]
    assert "城南村" in cells and "双虹村" not in cells and not any("修路款" in str(c) for c in cells)


async def test_without_a_session_every_page_goes_to_sign_in(service, standin):
    async with aiohttp.ClientSession() as http:
        for page in ("/desk", "/desk/cases", "/desk/clues", "/desk/status", "/desk/case/1"):
            async with http.get(service.url(page), allow_redirects=False) as resp:
                assert resp.status == 302 and resp.headers["Location"] == "/desk/login"
        async with http.get(service.url("/desk/login")) as resp:
            assert resp.status == 200 and "企业微信" in await resp.text()


async def test_every_view_of_a_clue_is_sealed_in_the_audit_chain(service, standin):
    ids = await seed(service, standin)
    http = await browser(service, "zjw-hu")
    try:
        assert (await get(http, service, f"/desk/case/{ids['城南村-clue']}"))[0] == 200
        status, ledger_page = await get(http, service, "/desk/clues")
        assert status == 200 and "J2026-001" in ledger_page
        assert (await get(http, service, "/desk/clues.xlsx"))[0] == 200
        # A refused look is not a view: a cadre's attempt leaves no event, only the inspector's three do.
        cadre = await browser(service, "cn-zhang")
        assert (await get(cadre, service, f"/desk/case/{ids['城南村-clue']}"))[0] == 403
        await cadre.close()
    finally:
        await http.close()
    views = rows(service.bot, "SELECT e.id, e.actor, e.detail FROM events e WHERE case_id = ? AND action = 'viewed'",
                 [ids["城南村-clue"]])
    assert [v["actor"] for v in views] == ["zjw-hu"] * 3
    sealed = rows(service.bot, "SELECT COUNT(*) AS n FROM ledger WHERE tbl = 'events' AND row_id IN "
                               "(SELECT id FROM events WHERE action = 'viewed')")
    assert sealed[0]["n"] == 3
    problems = service.bot.store.read_sync(lambda db: audit.verify(db, service.bot.config.audit.key.encode()))
    assert problems == []
    # Requests are not clues: opening one records nothing.
    http = await browser(service, "zjw-hu")
    await get(http, service, f"/desk/case/{ids['城南村']}")
    await http.close()
    assert not rows(service.bot, "SELECT id FROM events WHERE case_id = ? AND action = 'viewed'", [ids["城南村"]])


async def test_a_case_page_shows_every_event_and_what_the_group_saw(service, standin):
    ids = await seed(service, standin)
    number = rows(service.bot, "SELECT number FROM cases WHERE id = ?", [ids["城南村"]])[0]["number"]
    await service.aibot(standin, text=f"@小微 办结 {number} 已经换了新灯泡", userid="cn-li")
    await service.bot.settle()
    http = await browser(service, "cn-zhang")
    status, page = await get(http, service, f"/desk/case/{ids['城南村']}")
    await http.close()
    assert status == 200
    timeline = page.split('id="timeline"')[1].split("</ol>")[0]
    assert "登记" in timeline and "办结" in timeline and "已经换了新灯泡" in timeline and "村委会主任李明" in timeline
    posts = page.split('id="posts"')[1].split("</ul>")[0]
    # The intake answer and the result, as the group got them (from its robot, in order).
    assert posts.count("群机器人 · 已发出") == 2 and f"已登记，编号 {number}" in posts and f"编号 {number} 已办结" in posts


async def test_every_number_on_the_town_page_opens_a_list_of_that_many(service, standin, clock):
    await seed(service, standin)
    clock.advance(days=6)       # the requests are overdue by now, and still unanswered
    http = await browser(service, "zjw-hu")
    try:
        status, page = await get(http, service, "/desk/town/翠江镇")
        assert status == 200
        cells = re.findall(r'<td><a href="(/desk/cases\?[^"]+)"[^>]*>(\d+)</a></td>', page)
        assert len(cells) == 9 * 5 and any(int(n) for _, n in cells)
        for link, count in cells:
            status, listing = await get(http, service, link.replace("&amp;", "&"))
            assert status == 200
            assert re.search(r'id="total">(\d+)<', listing)[1] == count, link
        overdue = [link for link, n in cells if "overdue=1" in link and "village=%E5%9F%8E%E5%8D%97" in link]
        assert overdue and (await get(http, service, overdue[0].replace("&amp;", "&")))[1].count('href="/desk/case/') == 1
    finally:
        await http.close()


async def test_filters_and_bad_filter_values(service, standin):
    ids = await seed(service, standin)
    http = await browser(service, "zjw-hu")
    try:
        _, listing = await get(http, service, "/desk/cases?kind=consult")
        assert f'/desk/case/{ids["双虹村"]}"' in listing and f'/desk/case/{ids["城南村"]}"' not in listing
        _, listing = await get(http, service, "/desk/cases?since=2026-12-02")
        assert 'id="total">0<' in listing
        for bad in ("kind=nonsense", "since=yesterday", "received_hours=-1", "status=x"):
            assert (await get(http, service, f"/desk/cases?{bad}"))[0] == 400
        assert (await get(http, service, "/desk/case/999999"))[0] == 404
        assert (await get(http, service, "/desk/case/abc"))[0] == 404
        assert (await get(http, service, "/desk/town/无此镇"))[0] == 404
    finally:
        await http.close()


async def test_a_link_expires_and_a_forged_one_is_refused(service, clock):
    config = service.bot.config
    url = session.link(config, "zjw-hu", clock.now(), base_url=service.url(""))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        forged = tokens.issue("another-secret-of-16+", "link", "zjw-hu", clock.now() + timedelta(minutes=5))
        async with http.get(service.url(f"/desk/link?t={forged}"), allow_redirects=False) as resp:
            assert resp.status == 403
        # A session cookie is not a link, nor the other way round.
        cookie = tokens.issue(config.desk.secret, "session", "zjw-hu", clock.now() + timedelta(hours=1))
        async with http.get(service.url(f"/desk/link?t={cookie}"), allow_redirects=False) as resp:
            assert resp.status == 403
        clock.advance(minutes=16)
        async with http.get(url, allow_redirects=False) as resp:
            assert resp.status == 403 and "失效" in await resp.text()
        fresh = session.link(config, "zjw-hu", clock.now(), base_url=service.url(""))
        async with http.get(fresh, allow_redirects=False) as resp:
            assert resp.status == 302
            set_cookie = resp.headers["Set-Cookie"]
            assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and "Path=/desk" in set_cookie
        async with http.get(service.url("/desk"), allow_redirects=False) as resp:
            assert resp.status == 200
        clock.advance(hours=config.desk.session_hours, minutes=1)
        async with http.get(service.url("/desk"), allow_redirects=False) as resp:
            assert resp.status == 302                        # the session has run out too


async def test_sign_in_through_wecom_web_oauth(service, standin):
    standin.oauth_user = "zjw-hu"
    wecom_browser = {"User-Agent": "Mozilla/5.0 (Linux; Android 14) wxwork/4.1.30 MicroMessenger/7.0.1"}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), headers=wecom_browser) as http:
        async with http.get(service.url("/desk/login"), allow_redirects=False) as resp:
            authorize = resp.headers["Location"]
        assert authorize.startswith(f"{standin.url}/connect/oauth2/authorize?appid={standin.corp_id}&redirect_uri=")
        assert "scope=snsapi_base" in authorize and f"agentid={standin.agent_id}" in authorize
        assert authorize.endswith("#wechat_redirect")
        async with http.get(authorize, allow_redirects=False) as resp:
            back = resp.headers["Location"]               # WeCom sends the browser back with a code
        async with http.get(back, allow_redirects=False) as resp:
            assert resp.status == 302 and resp.headers["Location"] == "/desk"
        async with http.get(service.url("/desk")) as resp:
            assert resp.status == 200 and "胡纪" in await resp.text()
    async with aiohttp.ClientSession() as http:
        async with http.get(back, allow_redirects=False) as resp:
            assert resp.status == 403                      # a code is single-use
        forged = re.sub(r"state=[0-9a-f]+", "state=" + "0" * 40, back)
        async with http.get(forged, allow_redirects=False) as resp:
            assert resp.status == 403
    assert [r.errcode for r in standin.requests if r.endpoint == "oauth"] == [0, 40029]


async def test_a_desk_without_a_secret_is_not_served(config, clock):
    from dataclasses import replace
    svc = await start_service(replace(config, desk=replace(config.desk, secret="")), clock)
    try:
        async with svc.http.get(svc.url("/desk"), allow_redirects=False) as resp:
            assert resp.status == 404
    finally:
        await stop_service(svc)


async def test_a_member_who_writes_workbench_privately_gets_a_link_that_signs_him_in(config, clock, standin):
    from dataclasses import replace
    public = "https://xiaowei.example.gov.cn"
    svc = await start_service(replace(config, desk=replace(config.desk, base_url=public)), clock)
    try:
        for userid in ("cn-zhang", "resident-7"):
            params, body = standin.seal_app(userid=userid, text="工作台")
            assert (await svc.post("/wecom/app", params, body)).status == 200
        await svc.bot.settle()
        [reply] = [m["text"]["content"] for m in standin.app_messages if m["touser"] == "cn-zhang"]
        assert "15 分钟内有效" in reply
        url = re.search(r"https://\S+", reply)[0]
        assert url.startswith(f"{public}/desk/link?t=")
        assert not [m for m in standin.app_messages if m["touser"] == "resident-7" and "/desk/link" in str(m)]
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(svc.url(url.removeprefix(public)), allow_redirects=False) as resp:
                assert resp.status == 302
            async with http.get(svc.url("/desk/cases?village=城南村")) as resp:
                assert resp.status == 200
    finally:
        await stop_service(svc)


async def test_the_access_log_never_holds_a_sign_in_token(service, caplog):
    import logging
    url = session.link(service.bot.config, "zjw-hu", service.bot.clock.now(), base_url=service.url(""))
    token = url.split("t=")[1]
    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(url, allow_redirects=False) as resp:
                assert resp.status == 302
    logged = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert any("/desk/link" in line for line in logged) and not any(token[:20] in line for line in logged)


async def test_bad_input_to_the_desk_is_a_clear_4xx(service, standin):
    http = await browser(service, "zjw-hu")
    try:
        for path in ("/desk/case/%ff", "/desk/cases?village=%ff%fe", "/desk/town/%ff/chart.png", "/desk/village/无此村",
                     "/desk/cases?village=无此村", "/desk/link?t=" + "x" * 5000, "/desk/link?t=a.b",
                     "/desk/oauth?code=x&state=zz", "/desk/oauth", "/desk/static/..%2Fviews.py",
                     "/desk/static/nothing.css", "/desk/cases?since=2026-13-45", "/desk/clues?town=无此镇",
                     "/desk/case/99999999999999999999", "/desk/clues.xlsx?month=2026-00", "/desk/assessment?month=x",
                     "/desk/assessment.xlsx?town=无此镇", "/desk/assessment?town=%ff", "/desk/trends?weeks=abc",
                     "/desk/trends?weeks=" + "9" * 400, "/desk/visits?town=无此镇", "/desk/cases.xlsx?since=x"):
            status, _ = await get(http, service, path)
            assert 400 <= status < 500 or status == 302, (path, status)
        async with http.post(service.url("/desk"), data=b"x") as resp:
            assert 400 <= resp.status < 500
    finally:
        await http.close()


async def inspector_says(service, standin, text: str) -> None:
    """The town's inspector writes privately to 小微 (the AI bot's single chat)."""
    assert (await service.aibot(standin, text=text, userid="zjw-hu", chattype="single", chatid=None)).status == 200
    await service.bot.settle()


async def test_the_ledger_page_shows_each_clues_stage_finding_and_history_and_its_export_reads_back(
        county_service, standin, clock):
    service = county_service
    ids = await seed(service, standin)
    await service.aibot(standin, text="@小微 村主任李明把低保名额给了自己的亲戚，请纪委来查", userid="res-d")
    await service.bot.settle()                                        # J2026-002, left 待受理
    clock.advance(hours=1)
    for step in ("受理", "初步核实 调取修路工程账目核对", "办结 诬告 澄清 李明 账目清楚，系捏造事实"):
        await inspector_says(service, standin, f"线索 J2026-001 {step}")
    http = await browser(service, "zjw-hu")
    try:
        status, page = await get(http, service, "/desk/clues")
        assert status == 200
        ledger = page.split('id="ledger"')[1]
        first, second = ledger.split("<li><a ")[1:3]              # newest first
        assert "J2026-002" in first and '<span class="stage">待受理</span>' in first and "结论" not in first
        assert "J2026-001" in second and '<span class="stage">办结</span>' in second and "结论：诬告" in second
        assert "诬告陷害，待追查" in second and "已为村委会主任李明澄清正名" in second
        assert "<b>初步核实</b>（镇纪委书记胡纪）：调取修路工程账目核对" in second
        assert "2026-12-01 10:00" in second and "修路款" in second
        assert "待受理 1，办结 1" in page
        # The export: Chinese headers, date cells, the finding; Chinese file name; sealed as a view.
        book = await workbook(http, service, "/desk/clues.xlsx?town=翠江镇", "问题线索台账-翠江镇-2026-12-01.xlsx")
        sheet = book["线索台账"]
        header = [c.value for c in sheet[1]]
        assert header[:7] == ["线索编号", "镇（街道）", "来源村（社区）", "收到时间", "当前环节", "处置方式", "结论"]
        by_number = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
        row = by_number["J2026-001"]
        assert isinstance(row[3].value, datetime) and row[3].number_format == "yyyy-mm-dd hh:mm"
        assert (row[4].value, row[5].value, row[6].value, row[7].value) == ("办结", "初步核实", "诬告", "是")
        assert [c.value for c in book["处置记录"][1]] == ["线索编号", "时间", "环节", "经办人", "理由或说明"]
        bad = await get(http, service, "/desk/clues?month=2026-13")
        assert bad[0] == 400
    finally:
        await http.close()
    viewed = rows(service.bot, "SELECT detail FROM events WHERE case_id = ? AND action = 'viewed'",
                  [ids["城南村-clue"]])
    assert [json.loads(v["detail"])["note"] for v in viewed] == ["工作台查看线索台账", "工作台导出线索台账"]


async def test_a_cases_export_is_the_filtered_list_as_excel(service, standin):
    ids = await seed(service, standin)
    http = await browser(service, "zjw-hu")
    try:
        book = await workbook(http, service, "/desk/cases.xlsx?town=翠江镇&kind=consult", "诉求-翠江镇-2026-12-01.xlsx")
        sheet = book["诉求"]
        assert [c.value for c in sheet[1]][:5] == ["编号", "镇（街道）", "村（社区）", "类型", "状态"]
        found = list(sheet.iter_rows(min_row=2, values_only=True))
        assert [(r[2], r[3]) for r in found] == [("双虹村", "咨询")]          # the filter's list, no more
        assert isinstance(found[0][6], datetime) and found[0][6] == datetime(2026, 12, 1, 9, 0)  # local wall time
        assert sheet.cell(2, 7).number_format == "yyyy-mm-dd hh:mm"
        assert (await get(http, service, "/desk/cases.xlsx?kind=nonsense"))[0] == 400
    finally:
        await http.close()
    assert ids


async def test_the_assessment_page_and_export_hold_only_the_villages_one_may_see(county_service, standin, clock):
    service = county_service
    await seed(service, standin)
    pages = {}
    for userid in ("zjw-hu", "zf-wu"):
        http = await browser(service, userid)
        try:
            status, pages[userid] = await get(http, service, "/desk/assessment?month=2026-12")
            assert status == 200
            book = await workbook(http, service, "/desk/assessment.xlsx?month=2026-12", "月度考核-2026-12.xlsx")
            villages = [r[2] for r in book["各村（社区）"].iter_rows(min_row=2, values_only=True)]
            cadres = [(r[2], r[3]) for r in book["各干部"].iter_rows(min_row=2, values_only=True)]
            header = [c.value for c in book["各村（社区）"][1]]
            assert header[:5] == ["月份", "镇（街道）", "村（社区）", "受理诉求数", "首次响应中位数（小时）"]
            if userid == "zf-wu":
                assert villages == ["双虹村"] and {v for v, _ in cadres} == {"双虹村"}
            else:
                assert set(villages) == {"城南村", "双虹村", "高峰村", "南大街社区"} and ("城南村", "党支部书记张建") in cadres
            for bad in ("month=2026-13", "month=12", "month=2026-1"):
                assert (await get(http, service, f"/desk/assessment?{bad}"))[0] == 400
        finally:
            await http.close()
    table = pages["zjw-hu"].split('id="villages"')[1].split("</table>")[0]
    assert "<th>城南村</th><td>1</td>" in table and "<th>双虹村</th><td>1</td>" in table   # the clue is not counted
    assert "2026年12月" in pages["zjw-hu"] and 'type="month" name="month" value="2026-12"' in pages["zjw-hu"]
    mine = pages["zf-wu"]
    assert "双虹村" in mine and "城南村" not in mine and "张建" not in mine


async def test_topics_for_a_link_leader_are_his_villages_and_the_visit_list_is_the_inspectors(
        county_service, standin, clock):
    service = county_service
    await seed(service, standin)
    # 路灯 in two villages: a recurring topic for the town; a second and third request of res-a go overdue.
    await service.aibot(standin, text="@小微 我们组的路灯也坏了，晚上黑乎乎的", userid="res-e", chatid=SHUANGHONG)
    await service.aibot(standin, text="@小微 村口的垃圾好几天没人清运了", userid="res-a")
    await service.bot.settle()
    clock.advance(days=8)
    http = await browser(service, "zjw-hu")
    try:
        _, trends = await get(http, service, "/desk/trends?town=翠江镇")
        topics = trends.split('id="topics"')[1].split("</ul>")[0]
        assert "<b>路灯</b> 2 件 · 2 个村" in topics and "修路款" not in trends
        assert 'href="/desk/visits?weeks=4&amp;town=翠江镇"' in trends
        status, visits = await get(http, service, "/desk/visits")
        assert status == 200
        listed = visits.split('id="visits"')[1].split("</ul>")[0]
        assert "res-a" in listed and "超期 2 件" in listed
        assert (await get(http, service, "/desk/trends?weeks=5"))[0] == 400
    finally:
        await http.close()
    http = await browser(service, "zf-wu")
    try:
        _, home = await get(http, service, "/desk")
        assert 'href="/desk/assessment"' in home and 'href="/desk/trends"' in home and "/desk/visits" not in home
        status, trends = await get(http, service, "/desk/trends")
        assert status == 200 and "<b>路灯</b>" not in trends     # one request in 双虹村: not recurring for him
        assert "城南村" not in trends and "/desk/visits" not in trends
        status, refused = await get(http, service, "/desk/visits")
        assert status == 403 and "res-a" not in refused and "只有纪委" in refused
    finally:
        await http.close()


# --- 村务公开 -------------------------------------------------------------------------------------------------

NOVEMBER = "公示 财务收支 2026年11月财务收支\n收入：上级补助 5万元；支出：修村道 3.2万元、路灯 0.8万元。"
CORRECTED = "更正公示 1 2026年11月财务收支（更正）\n收入：上级补助 5万元；支出：修村道 3.0万元、路灯 1.0万元。"
OBJECTION = "公示1 修村道3.2万元是哪一段路？账目太笼统了"
MISCONDUCT = "公示1里的修村道工程是村主任的亲戚包的，村主任优亲厚友，我要举报"


async def publish_and_object(service, standin, clock) -> dict:
    """城南村: 11月财务收支 on time (公示1, objected to, then corrected), 10月 late (公示2), a 工程项目 withdrawn
    (公示3), and a report of misconduct about 公示1 (a clue: never on these pages). The cases' numbers and ids."""
    async def say(text: str, userid: str) -> None:
        assert (await service.aibot(standin, text=text, userid=userid)).status == 200
        await service.bot.settle()
    await say(NOVEMBER, "cn-chen")
    await say("公示 财务收支 2026年10月财务收支\n收入：上级补助 3万元；支出：保洁 0.6万元。", "cn-chen")
    await say("公示 工程项目 村道硬化工程预算\n拟硬化后山村道 800 米，预算 36 万元。", "cn-li")
    clock.set("2026-12-02T10:00:00+08:00")
    await say(OBJECTION, "resident-2")
    await say(CORRECTED, "cn-chen")
    await say("撤回公示 3 预算要重新核算", "cn-li")
    await say(MISCONDUCT, "resident-5")
    found = {r["kind"]: r for r in rows(service.bot, "SELECT c.id, c.number, s.kind FROM cases c "
                                                      "JOIN case_state s ON s.case_id = c.id")}
    assert set(found) == {"disclosure", "report"}, found
    return found


def section(page: str, name: str) -> str:
    return page.split(f'id="{name}"')[1].split("</ul>\n\n")[0] if name == "items" else \
        page.split(f'id="{name}"')[1]


async def test_the_village_page_lists_every_item_its_periods_and_every_gongshi_with_its_versions(
        county_service, standin, clock):
    service = county_service
    found = await publish_and_object(service, standin, clock)
    objection, clue = found["disclosure"], found["report"]
    http = await browser(service, "cn-zhang")              # 城南村's party secretary
    try:
        status, page = await get(http, service, "/desk/village/城南村/publicity")
        assert status == 200
    finally:
        await http.close()
    items = section(page, "items")
    entries = dict(re.findall(r'<li id="item-(.+?)">(.*?)\n</li>', items, re.S))
    assert list(entries) == [i.name for i in service.bot.config.power_list.items]
    before = {i.name for i in service.bot.config.power_list.items if i.before_decision}
    assert {name for name, text in entries.items() if "事前公示" in text} == before and "工程项目" in before
    assert "（财务）每月 · 公示 7 个工作日" in entries["财务收支"]
    assert "准备：报账员（本村未设此岗，由党支部书记张建准备）" in entries["财务收支"]
    assert "准备：文书陈芳 ·" in entries["惠农补贴"] and "准备：村委会主任李明</div>" in entries["工程项目"]
    periods = re.findall(r'<li class="(\w+)">(\d+年\d+月)：', entries["财务收支"])
    assert periods == [("on_time", "2026年11月"), ("published_late", "2026年10月"), ("late", "2026年9月"),
                       ("late", "2026年8月")]
    assert re.search(r"2026年11月：.*按时公开.*公示1", entries["财务收支"], re.S)
    assert re.search(r"2026年10月：.*逾期公开.*公示2", entries["财务收支"], re.S)
    assert "逾期未公开" in entries["集体三资"] and "periods" not in entries["工程项目"]
    assert re.search(r'公开及时率 <b>17%</b>（近 90 天应公开 6 项，按时 1 项', page)

    notices = dict(re.findall(r'<li id="notice-(\d+)">(.*?)\n</li>', section(page, "notices"), re.S))
    assert list(notices) == ["3", "2", "1"]
    first = notices["1"]
    assert "2026年11月财务收支（更正）" in first and "第 2 版（已更正）" in first
    assert "公示期 12月2日（周三）至12月11日（周五）" in first           # counted again from the correction
    now, old = first.split("历次版本（共 2 版）")
    assert "修村道 3.0万元" in now and "修村道 3.2万元" not in now
    assert "更正" in old and "发布" in old and "修村道 3.2万元" in old and "公示期 12月1日（周二）至12月10日（周四）" in old
    assert f'异议 <b>1</b> 件：<a href="/desk/case/{objection["id"]}">{objection["number"]}</a>' in first
    assert "已撤回" in notices["3"] and "预算要重新核算" in notices["3"] and "预算 36 万元" in notices["3"]
    assert "异议 <b>0</b> 件" in notices["2"] and "历次版本" not in notices["2"]
    # The clue about 公示1 is not an objection: not counted, not linked, not shown.
    assert clue["number"] not in page and f'/desk/case/{clue["id"]}"' not in page and "优亲厚友" not in page


async def test_an_inspector_sees_the_town_summary_and_follows_it_to_each_village(county_service, standin, clock):
    service = county_service
    found = await publish_and_object(service, standin, clock)
    assert (await service.aibot(standin, text="我们村的党费收缴情况好几个季度都没有公开过了", userid="resident-4")).status == 200
    await service.bot.settle()
    [missing] = rows(service.bot, "SELECT c.id, c.number FROM publicity_links l JOIN cases c ON c.id = l.case_id "
                                  "WHERE l.kind = 'missing' AND l.item = '党费收缴'")
    http = await browser(service, "zjw-hu")
    try:
        status, town = await get(http, service, "/desk/town/翠江镇/publicity")
        assert status == 200
        rows_ = dict(re.findall(r'<tr><th><a href="/desk/village/(.+?)/publicity">.*?</a></th>(.*?)</tr>', town, re.S))
        assert list(rows_) == ["城南村", "双虹村", "高峰村", "南大街社区"]
        assert ">17%</a>" in rows_["城南村"] and "<td>1/6</td>" in rows_["城南村"] and ">0%</a>" in rows_["双虹村"]
        assert rows_["城南村"].strip().endswith('<td><a href="/desk/village/城南村/publicity#notices">1</a></td>')
        for village, cells in rows_.items():
            status, page = await get(http, service, f"/desk/village/{village}/publicity")
            assert status == 200
            rate = re.search(r'公开及时率 <b>(.+?)</b>（近 90 天应公开 (\d+) 项，按时 (\d+) 项', page)
            assert f">{rate[1]}</a>" in cells and f"<td>{rate[3]}/{rate[2]}</td>" in cells, village
        _, shuanghong = await get(http, service, "/desk/village/双虹村/publicity")
        # 双虹村 has posted nothing: November is still due (by the 10th working day of December), the rest late.
        assert re.search(r'<li class="due">2026年11月：<span class="state ">待公开</span>', shuanghong)
        assert "应在12月14日（周一）前" in shuanghong and "双虹村还没有发布过公示。" in shuanghong
        status, own = await get(http, service, "/desk/village/城南村/publicity")
        assert found["disclosure"]["number"] in own and found["report"]["number"] not in own
        dues = own.split('id="item-党费收缴"')[1].split("</li>\n{")[0].split('id="item-')[0]
        assert f'群众反映未公开 1 件：<a href="/desk/case/{missing["id"]}">{missing["number"]}</a>' in dues
        _, home = await get(http, service, "/desk")
        _, overview = await get(http, service, "/desk/town/翠江镇")
        assert 'href="/desk/town/翠江镇/publicity"' in home and 'href="/desk/town/翠江镇/publicity"' in overview
    finally:
        await http.close()
    cadre = await browser(service, "cn-zhang")
    try:
        _, home = await get(cadre, service, "/desk")
        assert 'href="/desk/village/城南村/publicity"' in home
        assert (await get(cadre, service, "/desk/village/双虹村/publicity"))[0] == 403
        assert (await get(cadre, service, "/desk/town/翠江镇/publicity"))[0] == 403
    finally:
        await cadre.close()
    stranger = await browser(service, "resident-9")
    try:
        status, body = await get(stranger, service, "/desk/village/城南村/publicity")
        assert status == 403 and "权限" in body
    finally:
        await stranger.close()


async def test_bad_input_to_the_publicity_pages_is_a_clear_4xx(service, standin):
    http = await browser(service, "zjw-hu")
    try:
        for path in ("/desk/village/%ff/publicity", "/desk/village/无此村/publicity", "/desk/town/无此镇/publicity",
                     "/desk/town/%ff%fe/publicity", "/desk/village/" + "村" * 3000 + "/publicity"):
            status, _ = await get(http, service, path)
            assert 400 <= status < 500, (path, status)
        # With nothing published yet the pages still open, and say so.
        status, page = await get(http, service, "/desk/village/高峰村/publicity")
        assert status == 200 and "高峰村还没有发布过公示。" in page
    finally:
        await http.close()


async def test_an_objection_a_cadre_relabels_as_a_report_leaves_the_publicity_pages(county_service, standin, clock):
    """Relabelled 举报, the linked case is a clue: its link stays on record, but no village page or count shows it."""
    service = county_service
    found = await publish_and_object(service, standin, clock)
    objection = found["disclosure"]
    http = await browser(service, "cn-zhang")
    try:
        page = (await get(http, service, "/desk/village/城南村/publicity"))[1]
        assert f'/desk/case/{objection["id"]}"' in page
        assert (await service.aibot(standin, text=f"改类 {objection['number']} 举报", userid="cn-li")).status == 200
        await service.bot.settle()
        assert rows(service.bot, "SELECT kind FROM case_state WHERE case_id = ?", [objection["id"]]) == [{"kind": "report"}]
        page = (await get(http, service, "/desk/village/城南村/publicity"))[1]
    finally:
        await http.close()
    notice = page.split('id="notice-1"')[1].split("</li>\n")[0]
    assert f'/desk/case/{objection["id"]}"' not in page and "异议 <b>0</b> 件" in notice
    inspector = await browser(service, "zjw-hu")
    try:
        town = (await get(inspector, service, "/desk/town/翠江镇/publicity"))[1]
    finally:
        await inspector.close()
    assert town.split("城南村</a></th>")[1].split("</tr>")[0].strip().endswith("<td>0</td>")


def test_a_stored_period_reads_in_words(config):
    from bot.desk.publicity import period_label
    find = config.power_list.find
    assert [period_label(find(name), key) for name, key in (
        ("财务收支", "2026-11"), ("集体三资", "2026-Q3"), ("惠农补贴", "2026-H2"), ("惠农补贴", "2026-H1"),
        ("村干部报酬", "2025"), ("工程项目", ""), ("财务收支", "2026-xx"), ("财务收支", "2026-13"))] == [
        "2026年11月", "2026年第3季度", "2026年下半年", "2026年上半年", "2025年", "", "2026-xx", "2026-13"]
    assert period_label(None, "2026-11") == "2026-11"           # an item no longer on the list
