"""The daily routine: one module per job (值班公告, 正能量, 催办, 巡群日报, 月度考核); the core's job runner runs them once."""
from __future__ import annotations

from bot.jobs import Job
from schedules import digest, duty_notice, group_send, monthly_report, nags, news

# In the order an operator reads them in `xiaowei jobs`.
JOBS: tuple[Job, ...] = (duty_notice.JOB, news.JOB, group_send.JOB, group_send.CHECK,
                         nags.JOB, digest.JOB, monthly_report.JOB)
