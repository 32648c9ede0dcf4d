"""The three kinds of village group, end to end through the service: an internal group as before; a customer
group (客户群) whose answers go to the duty cadre as drafts and whose morning goes as one owner-confirmed group
send, reminded when the owner does not confirm; a plain WeChat group whose posts reach the county's gateway once,
in order, pushed or pulled."""
from __future__ import annotations

import json
from dataclasses import replace

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.channels.bridge import bridge_signature
from bot.cli import main
from bot.sandbox.standin import app_text
from tests.conftest import BRIDGE_SECRET, rows, start_service, stop_service
from tests.schedule_helpers import run_at

LAMP = "村口那盏路灯坏了一个多星期了，晚上黑乎乎的，老人走路怕摔，麻烦派人来修一下"


def kinds(config, **groups):
    """The sandbox config with the named villages turned into the given kinds."""
    town = config.towns[0]
    villages = tuple(replace(v, group=groups[v.name], webhook_key="" if groups[v.name] != "internal" else v.webhook_key)
                     if v.name in groups else v for v in town.villages)
    return replace(config, towns=(replace(town, villages=villages),))


def private_to(standin, userid):
    return [app_text(m) for m in standin.app_messages if m["touser"] == userid]


def test_check_config_says_per_village_what_its_kind_can_do_and_lacks(tmp_path, capsys):
    text = open("config.example.toml", encoding="utf-8").read()
    text = text.replace('name = "双虹村"\n', 'name = "双虹村"\ngroup = "customer"\nowner = "sh-huang"\n', 1)
    text = text.replace('name = "高峰村"\n', 'name = "高峰村"\ngroup = "bridge"\n', 1)
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    assert main(["check-config", "--config", str(tmp_path / "config.toml")]) == 0
    out = capsys.readouterr().out
    assert "城南村（企业微信内部群）" in out and "双虹村（客户群）" in out and "高峰村（微信群（经网关））" in out
    customer = out[out.index("双虹村（客户群）"):out.index("高峰村（")]
    assert "不能直接往群里发消息" in customer and "还缺：[archive]" in customer
    bridged = out[out.index("高峰村（"):out.index("南大街社区（")]
    assert "还缺：[bridge] secret" in bridged
    internal = out[out.index("城南村（企业微信内部群）"):out.index("双虹村（")]
    assert "可以：群里@小微 的消息由智能机器人收到" in internal and "做不到：听不到没有@小微 的消息" in internal
    assert "还缺" not in internal
    assert "小微从存档核对" in customer                       # drafts are checked, and pressed when not posted
    # With the chat archive and the gateway's secret configured, neither kind lacks anything any more.
    ready = text.replace('library = ""', 'library = "lib/libWeWorkFinanceSdk_C.so"', 1) \
        .replace('secret = ""                    # 会话内容存档', 'secret = "archive-secret"  # 会话内容存档', 1) \
        .replace('# [archive.private_keys]', '[archive.private_keys]', 1) \
        .replace('# 1 = "keys/archive_v1.pem"', '1 = "keys/archive_v1.pem"', 1) \
        .replace('secret = ""\nmax_age_seconds', 'secret = "gateway-secret"\nmax_age_seconds', 1)
    (tmp_path / "config.toml").write_text(ready, encoding="utf-8")
    assert main(["check-config", "--config", str(tmp_path / "config.toml")]) == 0
    out = capsys.readouterr().out
    assert "双虹村（客户群）" in out and "高峰村（微信群（经网关））" in out and "还缺" not in out
    (tmp_path / "config.toml").write_text(text.replace('group = "bridge"', 'group = "wechat"'), encoding="utf-8")
    assert main(["check-config", "--config", str(tmp_path / "config.toml")]) == 2
    assert "翠江镇·高峰村.group" in capsys.readouterr().err


async def test_a_customer_groups_answers_go_to_the_duty_cadre_as_drafts(config, clock, standin):
    service = await start_service(kinds(config, 城南村="customer"), clock)
    try:
        # Heard through the bridge here (the archive reader feeds the same way): a resident's request.
        raw = json.dumps({"msgid": "c-1", "chat_id": "wrkSFfCgAAcnchengnan", "sender": {"userid": "wm-resident"},
                          "text": LAMP, "mentions_bot": False}, ensure_ascii=False).encode()
        ts = str(int(clock.now().timestamp()))
        headers = {"X-Xiaowei-Timestamp": ts, "X-Xiaowei-Signature": bridge_signature(BRIDGE_SECRET, ts, raw)}
        assert (await service.post("/bridge", {}, raw, headers=headers)).status == 200
        await service.bot.settle()
        assert standin.robot_messages == {}                      # no robot can be in a customer group
        drafts = [t for t in private_to(standin, "cn-zhang") if t.startswith("【请发到城南村群】")]
        assert len(drafts) == 1 and "编号 101" in drafts[0] and "复制下面这段" in drafts[0]
    finally:
        await stop_service(service)


async def test_the_morning_goes_as_one_group_send_the_owner_confirms_or_is_reminded(config, clock, standin):
    config = kinds(config, 城南村="customer", 双虹村="customer")
    for village in config.towns[0].villages[:2]:
        standin.add_customer_group(village.chat_id, name=f"{village.name}群", owner=village.group_owner)
    service = await start_service(config, clock)
    bot = service.bot
    try:
        bot.store.write_sync(lambda db: db.execute(
            "INSERT INTO duty_rotation (village, start_day, position, userid) VALUES ('城南村', '2026-01-01', 0, 'cn-li')"))
        for job, at in (("duty_notice", "08:00"), ("news", "09:00"), ("group_send", "09:10")):
            await run_at(bot, clock, job, f"2026-12-01T{at}+08:00")
        sends = rows(bot, "SELECT village, msgid, status FROM group_sends ORDER BY village")
        assert [s["village"] for s in sends] == ["双虹村", "城南村"] and all(s["msgid"] for s in sends)
        robots = {r.target for r in standin.requests if r.endpoint == "webhook"}
        assert robots <= {"robot-key-gaofeng", "robot-key-nandajie"}              # the internal groups only
        chengnan = next(s for s in sends if s["village"] == "城南村")
        standin.confirm_group_send(chengnan["msgid"], "cn-zhang")                 # the owner's one tap
        [received] = standin.customer_group_messages["wrkSFfCgAAcnchengnan"]
        text = received["text"]["content"] if isinstance(received.get("text"), dict) else str(received)
        assert "【值班公告】" in text and "【正能量】" in text and "【昨日小结】" in text
        await run_at(bot, clock, "group_send_check", "2026-12-01T10:30+08:00")
        status = {r["village"]: r["status"] for r in rows(bot, "SELECT village, status FROM group_sends")}
        assert status == {"城南村": "sent", "双虹村": "reminded"}
        assert any("群发（值班公告等）还没有发出" in t for t in private_to(standin, "sh-huang"))
        assert not any("还没有发出" in t for t in private_to(standin, "cn-zhang"))
        assert any(r.endpoint == "remind_groupmsg_send" for r in standin.requests)
        await run_at(bot, clock, "group_send", "2026-12-01T09:40+08:00")         # once a day, whatever happens
        assert len(rows(bot, "SELECT id FROM group_sends")) == 2
    finally:
        await stop_service(service)


async def test_a_bridge_villages_posts_are_pulled_by_the_gateway_in_order_and_acknowledged(config, clock, standin):
    service = await start_service(kinds(config, 城南村="bridge"), clock)
    bot = service.bot
    try:
        await run_at(bot, clock, "duty_notice", "2026-12-01T08:00+08:00")
        await bot.commit(lambda db, out: [out.group(bot.config.village_by_name("城南村"), f"第{i}条") for i in range(3)])
        await bot.settle()
        assert "robot-key-chengnan" not in standin.robot_messages

        async def pull(after: int) -> dict:
            query = f"after={after}"
            ts = str(int(clock.now().timestamp()))
            headers = {"X-Xiaowei-Timestamp": ts, "X-Xiaowei-Signature": bridge_signature(BRIDGE_SECRET, ts, query.encode())}
            async with service.http.get(service.url(f"/bridge/outbox?{query}"), headers=headers) as resp:
                assert resp.status == 200
                return await resp.json()
        first = await pull(0)
        assert [m["text"] for m in first["messages"]] == ["第0条", "第1条", "第2条"]
        assert first["messages"] == sorted(first["messages"], key=lambda m: m["id"])
        again = await pull(0)                                       # not acknowledged yet: the same again
        assert again["messages"] == first["messages"]
        done = await pull(first["last"])                            # acknowledges everything up to last
        assert done["messages"] == []
        assert {r["status"] for r in rows(bot, "SELECT status FROM outbox WHERE kind = 'bridge'")} == {"sent"}
        async with service.http.get(service.url("/bridge/outbox?after=0")) as resp:
            assert resp.status == 403                               # unsigned
    finally:
        await stop_service(service)


async def test_a_bridge_villages_posts_are_pushed_to_the_gateway_once_in_order(config, clock, standin):
    got: list[dict] = []

    async def gateway(request: web.Request) -> web.Response:
        body = await request.read()
        ts = request.headers["X-Xiaowei-Timestamp"]
        assert request.headers["X-Xiaowei-Signature"] == bridge_signature(BRIDGE_SECRET, ts, body)
        got.append(json.loads(body))
        return web.Response(text="ok")
    app = web.Application()
    app.router.add_post("/in", gateway)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        config = kinds(config, 城南村="bridge")
        config = replace(config, bridge=replace(config.bridge, push_url=str(server.make_url("/in"))))
        service = await start_service(config, clock)
        try:
            village = service.bot.config.village_by_name("城南村")
            await service.bot.commit(lambda db, out: [out.group(village, f"第{i}条") for i in range(5)])
            await service.bot.settle()
            await service.bot.settle()
        finally:
            await stop_service(service)
    finally:
        await server.close()
    assert [g["text"] for g in got] == [f"第{i}条" for i in range(5)]
    assert [g["id"] for g in got] == sorted(g["id"] for g in got) and len({g["id"] for g in got}) == 5


def test_only_an_internal_group_is_told_to_at_xiaowei(config):
    """The AI bot hears an internal group only when @-mentioned; a customer or gateway group is heard whole and
    has no 小微 member to @, so its duty notice says plainly "在群里" (and so does a 公示, bot/publicity.py)."""
    from datetime import date

    from schedules.duty_notice import notice

    village = config.village_by_name("城南村")
    day = date(2026, 12, 1)
    assert "有事请在群里@小微 说明" in notice(village, list(village.cadres[:1]), day)
    for kind in ("customer", "bridge"):
        other = replace(village, group=kind)
        text = notice(other, list(other.cadres[:1]), day)
        assert "有事请在群里说明" in text and "@小微" not in text
