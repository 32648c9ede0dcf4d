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
