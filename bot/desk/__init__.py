"""The web desk under /desk: towns → villages → cases with filters, a case's full timeline, the clue ledger for
those who may see it, the monthly assessment, trends, Excel exports, charts, and the service's status for admins.
Server-rendered (aiohttp-jinja2); templates and static files ship in the package. Views are in views.py (the report
pages — clue ledger, assessment, trends — in reports.py), what they read in queries.py and report_data.py, who sees
what in access.py."""
from __future__ import annotations

from bot.desk import reports, views
from bot.desk.views import setup

ROUTES = views.ROUTES + reports.ROUTES

__all__ = ["ROUTES", "setup"]
