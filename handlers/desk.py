"""工作台: a member who may use the web desk writes "工作台" to the bot privately and gets a sign-in link that
works for [desk] link_minutes. A link is never posted in a group, where anyone could open it."""
from __future__ import annotations

from bot.context import MessageContext
from bot.desk.access import scope_of
from bot.desk.session import link
from bot.inbox import Message

WORDS = {"工作台", "网页", "登录", "登录工作台", "打开工作台"}


def match(msg: Message, ctx: MessageContext) -> bool | None:
    if msg.in_group or msg.media or not ctx.config.desk.secret:
        return None
    if msg.plain.strip() not in WORDS:
        return None
    # Residents are not told there is a desk: their "登录" goes on to the other handlers.
    return True if scope_of(ctx.config, ctx.roles, msg.sender).anything else None


async def act(msg: Message, _: bool, ctx: MessageContext) -> None:
    if not ctx.config.desk.base_url:
        line = "工作台的网址还没有配置（[desk] base_url），请联系县里的管理员。"
    else:
        line = (f"您的工作台登录链接（{ctx.config.desk.link_minutes} 分钟内有效，仅限本人使用，请勿转发）：\n"
                f"{link(ctx.config, msg.sender, ctx.now)}")
    await ctx.answer(lambda db, out: line)
