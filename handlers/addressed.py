"""Every message addressed to the bot gets an answer: a greeting gets one line on how to raise a request, a
question about who is on duty gets today's duty cadre, and a photo, a file or a voice note without words gets
one kind line asking for a few words of text. Overheard group chatter (a bridge or the archive) is not asked
of the bot, and gets nothing."""
from __future__ import annotations

import re

from bot import duty
from bot.context import MessageContext
from bot.inbox import Message

GREETING = re.compile(r"^(你好|您好|在吗|在不在|在么|哈喽|hello|hi|嗨|早上好|早|上午好|中午好|下午好|晚上好|小微你好)[!！。.~～呀啊]*$",
                      re.I)
DUTY = re.compile(r"谁值班|值班的?是谁|值班电话|值班干部|今天.{0,3}值班")
MEDIA_LINE = "看不到图片、文件和语音里的内容。请用几句话说一下是什么事，比如“村口路灯坏了”，值班干部就能马上办理。"


def match(msg: Message, ctx: MessageContext) -> str | None:
    if msg.in_group and not msg.mentions_bot:
        return None
    if msg.media and not msg.words:
        return "media"
    words = msg.plain
    if DUTY.search(words):
        return "duty"
    if GREETING.match(words):
        return "greeting"
    return None


async def act(msg: Message, what: str, ctx: MessageContext) -> None:
    mention = "@小微 " if msg.in_group else ""

    def line(db, out) -> str:
        if what == "media":
            return MEDIA_LINE
        if what == "greeting":
            return f"您好！有事直接说，比如“{mention}村口路灯坏了”，我会登记、给您编号和办结期限，并通知值班干部。"
        village = msg.village or ctx.roles.home_village(msg.sender)
        if village is None:
            return "请在您所在村（社区）的群里问，我会告诉您今天谁值班。"
        cadres = duty.responsible(db, village, ctx.now.date())
        names = "、".join(f"{c.post}{c.name}" + (f"（{c.phone}）" if c.phone else "") for c in cadres)
        return f"{village.name}今天值班：{names}。有事可以直接说，{mention}我会登记并通知他们。"
    await ctx.answer(line)
