"""A wheel built from the checkout, installed (not editable) into a fresh virtual environment, works from any
folder: everything it reads at run time is package data."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The `bin/` folder of a fresh venv holding only the wheel and its declared dependencies."""
    work = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "dist"),
                            str(ROOT)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    [wheel] = (work / "dist").glob("xiaowei-*.whl")
    venv.create(work / "venv", with_pip=True)
    bin_dir = work / "venv" / "bin"
    done = subprocess.run([bin_dir / "pip", "install", "-q", str(wheel)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    return bin_dir


def xiaowei(bin_dir: Path, cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([bin_dir / "xiaowei", *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          input=stdin, env=env)


def test_the_wheel_carries_its_data_and_runs_outside_the_checkout(installed, tmp_path):
    # Run from an empty folder: nothing of the checkout is reachable from here.
    where = subprocess.run([installed / "python", "-c", "import bot, sys; print(bot.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True)
    assert "site-packages" in where.stdout and str(ROOT) not in where.stdout

    assert xiaowei(installed, tmp_path, "classify", "路灯坏了").stdout.strip() == "help"
    due = xiaowei(installed, tmp_path, "deadline", "help", "2026-02-13T10:00+08:00")
    assert json.loads(due.stdout)["due_at"] == "2026-02-25T23:59:59+08:00"

    made = xiaowei(installed, tmp_path, "init", "county")
    assert made.returncode == 0 and (tmp_path / "county" / "config.toml").exists()
    checked = xiaowei(installed, tmp_path, "check-config", "--config", "county/config.toml")
    assert checked.returncode == 0 and "4 个村" in checked.stdout

    demo = xiaowei(installed, tmp_path, "demo")
    assert demo.returncode == 0, demo.stderr
    assert "已登记，编号 103" in demo.stdout and "问题线索" in demo.stdout
    assert list(tmp_path.iterdir()) == [tmp_path / "county"]        # the demo left nothing behind


DESK_SCRIPT = """
import asyncio, json, sys, tempfile
from pathlib import Path
import aiohttp
from aiohttp import web
from bot.app import Bot
from bot.clock import ManualClock
from bot.desk import session
from bot.sandbox.config import sandbox_config
from bot.sandbox.standin import WeComStandIn
from bot.web import make_app

async def main():
    clock = ManualClock("2026-12-01T09:00:00+08:00")
    async with WeComStandIn(clock) as standin:
        bot = Bot(sandbox_config(standin, Path(tempfile.mkdtemp()) / "x.db"), clock=clock, schedule=False)
        runner = web.AppRunner(make_app(bot))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = "http://127.0.0.1:%d" % runner.addresses[0][1]
        seen = {}
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await http.get(session.link(bot.config, "zjw-hu", clock.now(), base_url=base))
            for path in ("/desk", "/desk/town/翠江镇", "/desk/town/翠江镇/chart.png", "/desk/cases", "/desk/clues",
                         "/desk/static/desk.css"):
                async with http.get(base + path) as resp:
                    body = await resp.read()
                    seen[path] = [resp.status, resp.content_type, len(body), "翠江镇" in body.decode("utf-8", "replace")]
        await runner.cleanup()
    print(json.dumps(seen, ensure_ascii=False))

asyncio.run(main())
"""


def test_the_desk_renders_from_the_installed_wheel(installed, tmp_path):
    """Templates, the stylesheet and the charts' font are package data: the desk works from an installed wheel."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run([installed / "python", "-c", DESK_SCRIPT], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert all(status == 200 for status, *_ in seen.values()), seen
    assert seen["/desk/town/翠江镇"][1] == "text/html" and seen["/desk/town/翠江镇"][3]
    assert seen["/desk/town/翠江镇/chart.png"][1] == "image/png" and seen["/desk/town/翠江镇/chart.png"][2] > 10_000
    assert seen["/desk/static/desk.css"][1] == "text/css" and seen["/desk/static/desk.css"][2] > 500
