"""Who may see what on the desk, decided in this one place from the configuration.

A town's inspectors see their town, clues included; the county commission sees every town, clues included; link
leaders and village cadres see their villages' cases, never a clue; the town's staff see their town's cases;
admins see the service's status. The monthly assessment and the recurring topics are for the inspectors and the
county (whole towns) and for link leaders (the villages they hang on); the visit list names residents, so it goes
with the clues. Everyone else sees nothing."""
from __future__ import annotations

from dataclasses import dataclass

from bot.config import Config
from bot.roles import Roles


@dataclass(frozen=True)
class Scope:
    userid: str
    name: str
    towns: frozenset[str] = frozenset()       # towns of which every village's cases are visible
    villages: frozenset[str] = frozenset()    # single villages visible (cadres, link leaders)
    clue_towns: frozenset[str] = frozenset()  # towns whose clues (the ledger) are visible
    status: bool = False                       # the service's status page (admins)
    led: frozenset[str] = frozenset()         # villages a link leader hangs on: their assessment and topics

    @property
    def anything(self) -> bool:
        return bool(self.towns or self.villages or self.status)

    def village(self, town: str, village: str) -> bool:
        return town in self.towns or village in self.villages

    def clues(self, town: str) -> bool:
        return town in self.clue_towns

    def case(self, town: str, village: str, confidential: bool) -> bool:
        return self.clues(town) if confidential else self.village(town, village)

    def assessment(self, town: str, village: str) -> bool:
        """A village's monthly figures (and its cadres'), and the topics of its requests."""
        return self.clues(town) or village in self.led

    def reports(self) -> bool:
        """Whether the assessment and trends pages have anything for this person."""
        return bool(self.clue_towns or self.led)

    def town(self, town: str) -> bool:
        """The town's overview: its numbers and charts, for those who see all of it."""
        return town in self.towns


def county_members(config: Config) -> set[str]:
    """The county discipline commission (县纪委监委), from the [county] section."""
    return {p.userid for p in config.county.commission}


def scope_of(config: Config, roles: Roles, userid: str) -> Scope:
    towns, villages, clue_towns, led = set(), set(), set(), set()
    name = ""
    if userid in county_members(config):
        towns = clue_towns = {t.name for t in config.towns}
        name = "县纪委监委"
    for role in roles.of(userid):
        name = name or role.person.display
        if role.kind == "inspector":
            towns.add(role.town.name)
            clue_towns.add(role.town.name)
        elif role.kind == "staff":
            towns.add(role.town.name)
        elif role.village is not None:          # cadre, link leader
            villages.add(role.village.name)
            if role.kind == "leader":
                led.add(role.village.name)
    admin = userid in config.admins
    return Scope(userid, name or ("管理员" if admin else userid), frozenset(towns), frozenset(villages),
                 frozenset(clue_towns), admin, frozenset(led))
