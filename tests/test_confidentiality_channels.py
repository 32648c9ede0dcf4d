"""Never give a reporter away, over the channels without a robot: a report raised in a customer group (heard
through the chat archive) and in a plain WeChat group (through the county's gateway). The stand-in's full log —
group sends, every private message, the drafts the cadres are handed — and every post the gateway received are
read: neither clue's text nor its number reaches any village target."""
from __future__ import annotations

import re
from dataclasses import replace

from bot.channels.archive import ArchiveReader
from bot.sandbox.archive_standin import ArchiveStandIn
from bot.sandbox.gateway import GatewayStandIn
from tests.conftest import BRIDGE_SECRET, rows, start_service, stop_service
from tests.schedule_helpers import rotation, run_at
from tests.test_confidentiality import CLUE, INSPECTORS, LAMP, VILLAGE_PEOPLE, private_to
from tests.test_group_kinds import kinds

REPORTS = {"customer": "会计把修路款转到自己老婆的账上，账本都做了假",
           "bridge": "书记每天带着村干部用公款吃喝，发票写成办公用品"}


def content(message: dict) -> str:
    body = message.get("text") or message.get("markdown") or {}
    return body.get("content", "") if isinstance(body, dict) else str(body)


async def test_no_clue_from_a_customer_or_gateway_group_reaches_any_village_target(config, clock, standin):
    config = kinds(config, 城南村="customer", 双虹村="bridge")
    async with GatewayStandIn(BRIDGE_SECRET) as gateway:
        config = replace(config, bridge=replace(config.bridge, push_url=gateway.url))
        chengnan, shuanghong = config.village_by_name("城南村"), config.village_by_name("双虹村")
        standin.add_customer_group(chengnan.chat_id, name="城南村群", owner=chengnan.group_owner)
        service = await start_service(config, clock)
        bot = service.bot
        archive = ArchiveStandIn()
        reader = ArchiveReader(bot.config, clock, bot.commit, bot.store.read, bot.dispatcher.submit,
                               open_sdk=lambda: archive)
        try:
            rotation(bot, "城南村", "cn-li")
            rotation(bot, "双虹村", "sh-qiu")

            async def customer(text: str, sender: str) -> None:
                archive.say(roomid=chengnan.chat_id, sender=sender, text=text, at=clock.now())
                await reader.pull_once()
                await bot.settle()

            async def bridged(text: str, sender: str) -> None:
                headers, body = gateway.say(chat_id=shuanghong.chat_id, userid=sender, text=text, at=clock.now())
                assert (await service.post("/bridge", {}, body, headers=headers)).status == 200
                await bot.settle()
                await bot.settle()

            async def app(text: str, userid: str) -> None:
                params, body = standin.seal_app(userid=userid, text=text)
                assert (await service.post("/wecom/app", params, body)).status == 200
                await bot.settle()

            async def paste_drafts() -> None:
                """The duty cadre posts every draft he was handed, as given (the archive then shows it)."""
                for post in rows(bot, "SELECT text FROM group_posts WHERE kind = 'draft' AND status = 'waiting'"):
                    await customer(post["text"], "cn-li")

            # A public request and a report in each group.
            await customer(LAMP, "wmResA")
            await customer(REPORTS["customer"], "wmResA")
            await bridged(LAMP, "wxResB")
            await bridged(REPORTS["bridge"], "wxResB")
            numbers = [r["number"] for r in rows(bot, "SELECT number FROM cases WHERE kind = 'report' ORDER BY id")]
            assert len(numbers) == 2 and all(CLUE.fullmatch(n) for n in numbers)
            await paste_drafts()
            # Follow-ups and commands about the clues, in the groups and privately, by reporter, cadres, inspectors.
            for number in numbers:
                for text, who in ((f"查询 {number}", "res"), (f"满意 {number}", "res"), ("我那个事怎么样了", "res"),
                                  (f"查看 {number}", "cadre"), (f"办结 {number} 查了", "cadre"),
                                  (f"改类 {number} 求助", "cadre")):
                    await customer(text, {"res": "wmResA", "cadre": "cn-li"}[who])
                    await bridged(text, {"res": "wxResB", "cadre": "sh-qiu"}[who])
                    if who == "cadre":
                        await app(text, "cn-zhang")
                await app(f"进展 {number} 已约谈当事人", "zjw-hu")
            await paste_drafts()
            # The days after: the morning routine, the group send confirmed, nags, drafts pressed, the digest.
            for day in ("2026-12-02", "2026-12-03", "2026-12-07"):
                for job, at in (("duty_notice", "08:00"), ("digest", "08:00"), ("news", "09:00"),
                                ("group_send", "09:10"), ("nags", "09:30"), ("draft_nags", "15:30")):
                    await run_at(bot, clock, job, f"{day}T{at}+08:00")
                    if job == "group_send":
                        for send in rows(bot, "SELECT msgid FROM group_sends WHERE day = ?", [day]):
                            standin.confirm_group_send(send["msgid"], chengnan.group_owner)

            clue_words = [re.sub(r"\s", "", t)[i:i + 8] for t in REPORTS.values() for i in range(0, len(t) - 8, 4)]

            def leaks(text: str) -> list[str]:
                flat = re.sub(r"\s", "", text)
                return CLUE.findall(text) + [w for w in clue_words if w in flat] + \
                    (["纪委正在核查"] if "正在核查" in text else [])

            # The stand-in's full log: every group send delivered, every private message to anyone but the town's
            # inspectors (drafts and nags to cadres, admins' alerts), anything a robot or response_url carried.
            village_posts = [m["text"] for msgs in standin.customer_group_messages.values() for m in msgs]
            village_posts += [content(m) for m in standin.app_messages if m["touser"] not in INSPECTORS]
            village_posts += [content(m) for msgs in standin.robot_messages.values() for m in msgs]
            village_posts += [content(p) for p in standin.response_posts.values()]
            village_posts += [content(m) for msgs in standin.kf_sent.values() for m in msgs]
            # …every group send the owner was asked to confirm (what the app queued for add_msg_template)…
            village_posts += [r["payload"] for r in rows(bot, "SELECT payload FROM outbox WHERE kind = 'groupsend'")]
            # …and everything the gateway posted into its groups.
            gateway_posts = [p["text"] for p in gateway.posts]

            assert len(standin.customer_group_messages[chengnan.chat_id]) >= 3    # the walk reached the groups
            assert any(t.startswith("【请发到城南村群】") for t in village_posts)     # drafts are in what is read
            assert len(gateway_posts) >= 10
            assert any(m["touser"] in VILLAGE_PEOPLE for m in standin.app_messages)
            assert [(t, leaks(t)) for t in village_posts + gateway_posts if leaks(t)] == []
            assert rows(bot, "SELECT id FROM messages WHERE status = 'failed'") == []
            # No draft of a clue was ever kept for the cadres to post or to be pressed about.
            assert not [d for d in rows(bot, "SELECT text FROM group_posts") if leaks(d["text"])]
            # And the inspectors did get both clues, privately.
            inspector_texts = "\n".join(private_to(standin, "zjw-hu"))
            assert all(n in inspector_texts for n in numbers)
            assert all(t in inspector_texts for t in REPORTS.values())
        finally:
            reader.close()
            await stop_service(service)
