"""`xiaowei serve` as an operator starts it, and the error path of a handler that fails."""
from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading

import aiohttp

from bot.app import Bot
from bot.dispatch import Handler
from bot.sandbox.standin import app_text
from tests.conftest import CHENGNAN, rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_line(proc: subprocess.Popen, needle: str, timeout: float = 60) -> str:
    """The first stderr line holding `needle`. A reader thread takes every line as it comes: polling the pipe
    and then reading it buffered left lines that had already arrived unseen in the buffer."""
    if not hasattr(proc, "lines"):
        proc.lines = queue.Queue()
        threading.Thread(target=lambda: [proc.lines.put(line) for line in proc.stderr] + [proc.lines.put("")],
                         daemon=True).start()
    seen = []
    while True:
        try:
            line = proc.lines.get(timeout=timeout)
        except queue.Empty:
            break
        if not line:
            break
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError("".join(seen))


async def test_serve_answers_healthz_on_its_configured_port(tmp_path):
    port = free_port()
    config = open("config.example.toml", encoding="utf-8").read().replace("port = 8080", f"port = {port}")
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--config", str(tmp_path / "config.toml")],
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        wait_for_line(proc, "listening on")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                assert resp.status == 200 and (await resp.json())["status"] == "ok"
        assert (tmp_path / "var" / "xiaowei.db").exists()
        key_file = tmp_path / "xiaowei.audit-key"          # no [audit] key configured: made beside the config
        assert key_file.exists() and key_file.stat().st_mode & 0o777 == 0o600
        proc.terminate()                                   # SIGTERM: a clean stop
        wait_for_line(proc, "stopping")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


async def test_a_failing_handler_keeps_the_message_and_alerts_the_admin(config, clock, standin):
    async def explode(msg, found, bot):
        raise RuntimeError("bug")
    bot = Bot(config, clock=clock, handlers=[Handler("broken", lambda msg, bot: True, explode)])
    await bot.start()
    try:
        params, body = standin.seal_aibot(standin.aibot_message(chatid=CHENGNAN, userid="u", text="路灯坏了"))
        from bot.channels.aibot import open_aibot
        await bot.receive(open_aibot(bot.config, bot.aibot_crypto, params, body, bot.clock.now()))
        await bot.settle()
        assert rows(bot, "SELECT status, handler, error FROM messages") == [
            {"status": "failed", "handler": "broken", "error": "RuntimeError"}]
        assert any("处理出错" in app_text(m) for m in standin.app_messages)
        assert all("路灯" not in app_text(m) for m in standin.app_messages)
    finally:
        await bot.stop()


async def test_a_second_server_on_the_same_database_refuses_to_start(config, clock):
    import pytest
    from bot.app import AlreadyRunning
    first = Bot(config, clock=clock, schedule=False)
    await first.start()
    second = Bot(config, clock=clock, schedule=False)
    try:
        with pytest.raises(AlreadyRunning, match="另一个小微进程"):
            await second.start()
        helper = Bot(config, clock=clock, schedule=False)
        await helper.start(background=False)     # `run-job` while serving: it queues, the server sends
        assert helper.sending is False
        await helper.stop()
    finally:
        await first.stop()
        second.store.close()
    again = Bot(config, clock=clock, schedule=False)
    await again.start()                          # the lock went with the first process
    assert again.sending
    await again.stop()
