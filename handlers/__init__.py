"""The handler table: order matters, the first match acts."""
from __future__ import annotations

from bot.dispatch import Handler


def default_handlers() -> list[Handler]:
    from handlers import help
    return [
        Handler("help", help.match, help.act),
    ]
