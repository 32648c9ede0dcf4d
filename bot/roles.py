"""Who someone is, from the configuration: the village's cadres, the town's staff and inspectors, the county
commission and the departments it hands cases to, admins.
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
        # County people belong to no town, so they are kept apart: a town's role list stays a town's.
        self._commission = {p.userid: p for p in config.county.commission}
        self._department = {c.userid: (d.name, c) for d in config.county.departments for c in d.contacts}

    def _add(self, role: Role) -> None:
        self._by_user.setdefault(role.person.userid, []).append(role)

    def of(self, userid: str) -> list[Role]:
        return self._by_user.get(userid, [])

    def is_staff(self, userid: str) -> bool:
        return (bool(self.of(userid)) or userid in self.config.admins or userid in self._commission
                or userid in self._department)

    def is_commission(self, userid: str) -> bool:
        """A member of the county discipline commission (县纪委监委)."""
        return userid in self._commission

    def department_of(self, userid: str) -> str | None:
        """The county department this person receives handed-over cases for."""
        found = self._department.get(userid)
        return found[0] if found else None

    def may_handle_clue(self, userid: str, town: str) -> bool:
        """Clues are the inspectors' of their town, and the county commission's everywhere."""
        return self.is_inspector(userid, town) or self.is_commission(userid)

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
        if roles:
            return roles[0].person
        return self._commission.get(userid) or (self._department[userid][1] if userid in self._department else None)
