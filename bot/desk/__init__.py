"""The web desk under /desk: towns → villages → cases with filters, a case's full timeline, the clue ledger for
those who may see it, charts, and the service's status for admins. Server-rendered (aiohttp-jinja2); templates and
static files ship in the package. Views are in views.py, what they read in queries.py, who sees what in access.py."""
from __future__ import annotations

from bot.desk.views import ROUTES, setup

__all__ = ["ROUTES", "setup"]
