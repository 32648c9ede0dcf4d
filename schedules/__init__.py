"""The daily routine: one module per job (值班公告, 正能量, 催办, 草稿未发, 公开提醒, 巡群日报, 月度考核); the core's job
runner runs them once."""
from __future__ import annotations

from bot.jobs import Job
from schedules import (customer_stats, digest, draft_nags, duty_notice, group_send, identity, monthly_report, nags,
                       news, publicity)

# In the order an operator reads them in `xiaowei jobs`.
JOBS: tuple[Job, ...] = (duty_notice.JOB, news.JOB, group_send.JOB, group_send.CHECK,
                         nags.JOB, draft_nags.JOB, publicity.JOB, identity.JOB, customer_stats.JOB, digest.JOB,
                         monthly_report.JOB)
