"""Who someone is, from the configuration: the village's cadres, the town's staff and inspectors, admins.
Everyone else is a resident, who is never required to give a real name."""
from __future__ import annotations

from dataclasses import dataclass

from bot.config import Config, Person, Town, Village


@dataclass(frozen=True)
class Role:
    kind: str                 # cadre | leader | staff | inspector
    person: Person
    town: Town
    village: Village | None = None   # for cadres and link leaders


class Roles:
    def __init__(self, config: Config):
        self.config = config
        self._by_user: dict[str, list[Role]] = {}
        for town in config.towns:
            for p in town.inspectors:
                self._add(Role("inspector", p, town))
            for p in town.staff:
                self._add(Role("staff", p, town))
            for village in town.villages:
                for c in village.cadres:
                    self._add(Role("cadre", c, town, village))
                if village.link_leader:
                    self._add(Role("leader", village.link_leader, town, village))

    def _add(self, role: Role) -> None:
        self._by_user.setdefault(role.person.userid, []).append(role)

    def of(self, userid: str) -> list[Role]:
        return self._by_user.get(userid, [])

    def is_staff(self, userid: str) -> bool:
        return bool(self.of(userid)) or userid in self.config.admins

    def is_inspector(self, userid: str, town: str | None = None) -> bool:
        return any(r.kind == "inspector" and (town is None or r.town.name == town) for r in self.of(userid))

    def may_act_on(self, userid: str, village: Village) -> bool:
        """The village's own cadres and link leader, its town's staff and the town's inspectors. A link leader
        answers for the villages he hangs on, not for the rest of the town."""
        for r in self.of(userid):
            if r.kind in ("cadre", "leader") and r.village == village:
                return True
            if r.kind in ("staff", "inspector") and r.town.name == village.town:
                return True
        return False

    def home_village(self, userid: str) -> Village | None:
        return next((r.village for r in self.of(userid) if r.kind == "cadre"), None)

    def person(self, userid: str) -> Person | None:
        roles = self.of(userid)
        return roles[0].person if roles else None
