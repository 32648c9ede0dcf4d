"""Reports of misconduct (举报): never echoed, never shown to village cadres. The resident is thanked; the town's
inspectors get the text privately; the clue enters the ledger with how it was passed on."""
from __future__ import annotations

from bot import cases, inbox, wording
from bot.inbox import Message

THANKS = ("谢谢您的反映。这件事已保密转交镇纪委处理，不会在群里公开，也不会转给村干部。"
          "如需补充情况，可以私聊小微。")


def match(msg: Message, bot) -> bool:
    # Cadres may report misconduct too (a committee member about the secretary), so nobody is excluded.
    return bot.verdict(msg).label == "report"


async def act(msg: Message, _: bool, bot) -> None:
    due = bot.due_at("consult", msg.received_at)   # inspectors acknowledge a clue within 2 working days

    def tx(db, out):
        # A private report: the town of the group the resident last wrote in (a county may have several towns).
        village = msg.village or bot.config.village_by_name(inbox.last_village(db, msg.sender) or "")
        town = bot.config.town(village.town) if village else bot.config.towns[0]
        clue = cases.open_case(db, message_id=msg.id, town=town.name, village=village.name if village else "（私聊）",
                               kind="report", text=bot.own_words(msg), requester=msg.sender, chat_id=msg.chat_id,
                               received_at=msg.received_at, due_at=due, now=bot.clock.now(),
                               confidence=bot.verdict(msg).confidence)
        inspectors = [p.userid for p in town.inspectors]
        out.members(inspectors, (
            f"【问题线索 {clue.number}】{clue.village}\n收到：{wording.moment(clue.received_at)}\n"
            f"内容：{clue.text}\n反映人平台ID：{clue.requester}（请勿向村干部透露）\n"
            f"处理后回复“进展 {clue.number} 情况”或“办结 {clue.number} 结果”。"))
        cases.append(db, clue.id, actor="小微", action="forwarded", now=bot.clock.now(),
                     note="已通过企业微信应用私信移送镇纪委", to=inspectors, channel="app")
        out.reply(msg, THANKS)
    await bot.commit(tx, key=f"m{msg.id}")
