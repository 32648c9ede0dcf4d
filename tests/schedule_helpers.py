"""Helpers for the daily-routine tests: a started bot, cases opened directly, jobs run as of a moment."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot import cases
from bot.app import Bot
from bot.clock import ManualClock
from bot.config import Cadre, Config, Person, Village
from bot.sandbox.standin import app_text
from tests.conftest import new_bot

TOWN = "翠江镇"


async def started(config: Config, clock: ManualClock) -> Bot:
    bot = new_bot(config, clock)
    await bot.start(background=False)
    return bot


async def run_at(bot: Bot, clock: ManualClock, name: str, when: str) -> None:
    clock.set(when)
    await bot.jobs.run(name)
    await bot.settle()


IN_GROUP = object()     # open_case's default: raised in the village's group, as most requests are


def open_case(bot: Bot, *, received: str, kind: str = "help", village: str = "城南村", text: str = "村口路灯坏了",
              chat_id: str | None | object = IN_GROUP, **state) -> cases.Case:
    """A case as the intake opens it; chat_id None: raised privately (微信客服)."""
    at = datetime.fromisoformat(received)
    if chat_id is IN_GROUP:
        chat_id = bot.config.village_by_name(village).chat_id

    def tx(db):
        case = cases.open_case(db, message_id=None, town=TOWN, village=village, kind=kind, text=text,
                               requester="resident-1", chat_id=chat_id, received_at=at, due_at=bot.base.due_at(
                                   "consult" if kind == "report" else kind, at), now=at)
        if state:
            cases.append(db, case.id, actor="test", action="test", now=at, state=state)
        return cases.get_by_id(db, case.id)
    return bot.store.write_sync(tx)


def change(bot: Bot, case: cases.Case, when: str, **state) -> None:
    bot.store.write_sync(lambda db: cases.append(db, case.id, actor="test", action="test",
                                                 now=datetime.fromisoformat(when), state=state))


def rotation(bot: Bot, village: str, *userids: str, start: str = "2026-01-01") -> None:
    def tx(db):
        for position, userid in enumerate(userids):
            db.execute("INSERT INTO duty_rotation (village, start_day, position, userid) VALUES (?, ?, ?, ?)",
                       [village, start, position, userid])
    bot.store.write_sync(tx)


def private(standin, userid: str) -> list[str]:
    return [app_text(m) for m in standin.app_messages if m["touser"] == userid]


def big_town(config: Config, n: int, *, key: str | None = None, inspector_key: str = "") -> Config:
    """One town of n villages; every village's robot is `key` when given (one lane for all), else its own."""
    villages = tuple(
        Village(name=f"第{i:02d}村", town=TOWN, chat_id=f"chat-{i}", webhook_key=key or f"robot-{i}",
                cadres=(Cadre(f"v{i}-sec", f"书记{i}", "党支部书记", "1390000" + f"{i:04d}", secretary=True),
                        Cadre(f"v{i}-duty", f"值班{i}", "村委委员", "1380000" + f"{i:04d}")),
                link_leader=Person(f"v{i}-leader", f"挂包{i}", "副镇长（挂包）"))
        for i in range(1, n + 1))
    town = replace(config.towns[0], villages=villages, inspector_webhook_key=inspector_key)
    return replace(config, towns=(town,))
