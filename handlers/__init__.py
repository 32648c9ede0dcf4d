"""The handler table: order matters, the first match acts. Explicit commands come before the classifier's
reading, and a possible report comes before everything the classifier could otherwise call it."""
from __future__ import annotations

from bot.dispatch import Handler
from handlers import addressed, clues, commands, desk, followups, gongshi, help, quoted, reports, requests, traffic


def default_handlers() -> list[Handler]:
    return [
        Handler("help", help.match, help.act),
        Handler("desk", desk.match, desk.act),
        Handler("addressed", addressed.match, addressed.act),
        Handler("clue", clues.match, clues.act),
        Handler("command", commands.match, commands.act),
        Handler("gongshi", gongshi.match, gongshi.act),
        Handler("report", reports.match, reports.act),
        Handler("objection", gongshi.match_objection, gongshi.act_objection),
        Handler("followup", followups.match, followups.act),
        Handler("quoted-reply", quoted.match, quoted.act),
        Handler("cadre-reply", traffic.match_reply, traffic.act_reply),
        Handler("support", traffic.match_support, traffic.act_support),
        Handler("request", requests.match, requests.act),
    ]
