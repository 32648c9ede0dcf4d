"""帮助: what the bot does and how to use it, in plain words."""
from __future__ import annotations

from bot.context import MessageContext
from bot.inbox import Message

WORDS = {"帮助", "help", "菜单", "怎么用", "使用说明", "说明", "?", "？", "小微", ""}


RESIDENT_HELP = """我是小微，村务监督小助手。
· 有事找村里：在群里@我，直接说事，比如“@小微 村口路灯坏了”。我会登记、给您一个编号和办结期限，并通知值班干部。
· 查进度：@我 发“查询 编号”，如“查询 101”。
· 办完后可以评价：发“满意 编号”或“不满意 编号”。
· 看村务公示：@我 发“公示”。有异议发“公示编号 您的意见”，如“公示3 这笔开支不清楚”。
· 反映干部问题：@我 或私聊我说明情况，会直接转给镇纪委，不在群里公开，也不会告诉村干部。
办理时限：咨询2个工作日，求助3个，建议5个，信息公开问题10个。"""

CADRE_HELP = """干部常用命令（在群里@小微 或私聊小微）：
认领 101 ｜ 进展 101 内容 ｜ 办结 101 结果
上报 101 原因（转镇里）｜ 退回 101 原因（退回村里）
改类 101 咨询/求助/建议/公开/举报/闲聊 ｜ 督办 101（纪委）
确认 101（疑似诉求）｜ 无法解决 101 原因
我的 ｜ 查看 101
公示 事项 标题（换行写内容），如“公示 财务收支 11月财务收支”
更正公示 3 内容 ｜ 撤回公示 3 原因 ｜ 公示（看正在公示的和待公开的）"""

# Only privately, and only to those who act on clues: a group never reads how clues are handled.
INSPECTOR_HELP = """纪委线索台账（只能私聊小微）：
线索 12 受理 ｜ 线索 12 初步核实 理由
（12 是今年的 J2026-012，也可以写全）
处置方式：谈话函询、初步核实、暂存待查、予以了结；初步核实后可以立案审查调查
办结：线索 12 办结 属实/部分属实/不属实/诬告 说明
不属实可以澄清正名：线索 12 办结 不属实 澄清 干部姓名 说明"""
COUNTY_HELP = "县纪委监委：交办 101 部门 意见（交有关部门办理并督办）"


def match(msg: Message, ctx: MessageContext) -> str | None:
    text = msg.plain.strip().lower()
    # With a bridge every group message arrives; only an @-mention or a private chat asks the bot itself.
    if text in WORDS and not msg.media and (msg.mentions_bot or not msg.in_group):
        if not ctx.roles.is_staff(msg.sender):
            return "resident"
        if msg.in_group:
            return "cadre"
        if ctx.roles.is_commission(msg.sender):
            return "county"
        return "inspector" if ctx.roles.is_inspector(msg.sender) else "cadre"
    return None


async def act(msg: Message, audience: str, ctx: MessageContext) -> None:
    text = RESIDENT_HELP if audience == "resident" else "\n\n".join(
        [RESIDENT_HELP, CADRE_HELP] + ([INSPECTOR_HELP] if audience in ("inspector", "county") else [])
        + ([COUNTY_HELP] if audience == "county" else []))
    await ctx.answer(lambda db, out: text)
