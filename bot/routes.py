"""What the bot does with a resident's message it overhears in a group, from the classifier's reading:
`case` (a request, sure), `clue` (a report), `triage` (maybe a report: 疑似线索 to the inspectors), `confirm`
(maybe a request: 疑似诉求 to the duty cadre) or `none`. `xiaowei classify` prints it; the handlers follow it."""
from __future__ import annotations

from bot.classifier import Verdict
from bot.config import Rules

REQUESTS = ("consult", "help", "suggestion", "disclosure")


def route(verdict: Verdict, rules: Rules) -> str:
    if verdict.label == "report":
        return "clue"
    sure = verdict.confidence >= rules.confidence_threshold
    if verdict.label in REQUESTS and sure:
        return "case"
    # Recall first: what may be about a cadre goes to the inspectors to look at, never to the village.
    if verdict.scores.get("report", 0.0) >= rules.triage_threshold:
        return "triage"
    if verdict.label in REQUESTS:
        return "confirm"
    return "none"
