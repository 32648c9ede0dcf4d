"""What the bot does with a message, decided in one place from the classifier's reading and the message's
circumstances: who speaks, whether the bot was addressed, whether the sender has open cases, and whether the
message quotes another. `xiaowei classify` prints the route; the handlers follow it.

Routes: `case` (a request, sure), `confirm` (maybe a request: 疑似诉求 to the duty cadre), `clue` (a report),
`triage` (maybe a report: 疑似线索 to the inspectors), `followup` (a chase or a rating), `reply` (an answer to
the message it quotes), `answer` (a cadre's own words in the group: an answer or a notice) or `none`."""
from __future__ import annotations

import re
from dataclasses import dataclass

from bot.classifier import Verdict
from bot.config import Rules

REQUESTS = ("consult", "help", "suggestion", "disclosure")
POSSIBLE_REQUEST = 0.2   # a request kind's share of the probability that is worth a cadre's glance
CASE_NUMBER = re.compile(r"J\d{4}-\d{1,4}|(?<!\d)\d{3,6}(?!\d)", re.I)


@dataclass(frozen=True)
class Circumstances:
    """What is known about a message besides its words."""
    speaker: str = "resident"     # resident | cadre (any staff: village cadre, town staff, inspector, admin)
    addressed: bool = True        # an @-mention or a private chat: said to the bot, not overheard
    open_cases: int | None = None  # the sender's active cases in this village; None: not known (the CLI)
    quoting: bool = False         # the message quotes another one
    names_case: bool = False      # the message carries a case number ("101", "J2026-003")


ADDRESSED_RESIDENT = Circumstances()


def decide(verdict: Verdict, rules: Rules, about: Circumstances = ADDRESSED_RESIDENT) -> str:
    if verdict.label == "report":
        return "clue"     # whoever speaks: a committee member may report the secretary
    if about.speaker != "resident":
        # A cadre's message is an answer or a notice, never a new request; its talk of cadres is work, not a
        # possible report, unless said to the bot itself.
        if about.addressed:
            return "triage" if verdict.scores.get("report", 0.0) >= rules.triage_threshold else "none"
        return "answer"
    if about.quoting and verdict.label in ("followup", "chatter"):
        return "reply"    # a quoted reply belongs to what it quotes, not to a new matter
    # Recall first: what may be about a cadre goes to the inspectors to look at, never to the village.
    maybe_report = verdict.scores.get("report", 0.0) >= rules.triage_threshold
    # Overheard talk is not said to the bot: a case opens only on a surer reading.
    bar = rules.confidence_threshold if about.addressed else max(rules.confidence_threshold,
                                                                  rules.overheard_threshold)
    if verdict.label in REQUESTS:
        if verdict.confidence >= bar:
            return "case"
        return "triage" if maybe_report else "confirm"
    if maybe_report:
        return "triage"
    kind, share = best_request(verdict)
    if verdict.label == "followup":
        # A chase from someone with nothing open is a request told as a chase ("还是没人来修").
        if about.open_cases == 0 and not about.names_case and share >= POSSIBLE_REQUEST:
            return "confirm"
        return "followup"
    if verdict.label == "chatter" and about.addressed and verdict.confidence < rules.confidence_threshold \
            and share >= POSSIBLE_REQUEST:
        return "confirm"  # asked of the bot and unsure it is chatter: a cadre looks, nobody is spammed
    return "none"


def best_request(verdict: Verdict) -> tuple[str, float]:
    kind = max(REQUESTS, key=lambda k: verdict.scores.get(k, 0.0))
    return kind, verdict.scores.get(kind, 0.0)


def route(verdict: Verdict, rules: Rules) -> str:
    """The route of a message said to the bot by a resident (what `xiaowei classify` prints by default)."""
    return decide(verdict, rules)


_STAFF = {"cadre", "staff", "secretary", "duty", "inspector", "leader", "admin", "村干部", "干部", "值班员"}
_ADDRESSED = {"mention", "at", "aibot", "private", "single", "dm", "kf", "app"}


def circumstances_of(record: dict) -> Circumstances:
    """The context fields a labelled or piped JSON line may carry (speaker role, channel, quoted), so that the CLI
    and the bench decide as the service would; absent fields mean a resident who addressed the bot."""
    role = next((record[k] for k in ("speaker", "role", "speaker_role") if isinstance(record.get(k), str)), "")
    channel = next((record[k] for k in ("channel", "via") if isinstance(record.get(k), str)), "")
    addressed = record.get("addressed", record.get("mentions_bot"))
    if not isinstance(addressed, bool):
        addressed = channel.lower() in _ADDRESSED if channel else True
    quote = record.get("quoted", record.get("quote"))
    return Circumstances(speaker="cadre" if role.lower() in _STAFF else "resident", addressed=addressed,
                         quoting=bool(quote), names_case=bool(CASE_NUMBER.search(str(record.get("text") or ""))))


def effective_label(label: str, decided: str) -> str:
    """The label the bot acts on: a cadre's own answer or notice is, for the bot, not a request."""
    return "chatter" if decided == "answer" else label
