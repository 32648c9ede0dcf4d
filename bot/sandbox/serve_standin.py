"""The WeCom stand-in as a process of its own, for benchmarks that kill and restart the bot around it
(bench/crash.py). It outlives the bot, so its record of what WeCom accepted survives every crash.

    python -m bot.sandbox.serve_standin

prints one JSON line {"url": …, "control": …} once both sockets listen, then runs until SIGTERM/SIGINT.
`url` is the stand-in (the bot's api_base). `control`, a second loopback port that the bot never sees:
  POST /response_urls?n=N   mint N response_urls in this process (codes are only valid where minted)
  GET  /records             everything the stand-in heard and accepted, as JSON
"""
from __future__ import annotations

import asyncio
import json
import sys

from aiohttp import web

from bot.clock import SystemClock
from bot.sandbox.standin import WeComStandIn
from bot.web import until_stopped

MAX_MINT = 100_000


def control_app(standin: WeComStandIn) -> web.Application:
    async def mint(request: web.Request) -> web.Response:
        try:
            n = int(request.query.get("n", "1"))
        except ValueError:
            raise web.HTTPBadRequest(text="n must be an integer") from None
        if not 0 < n <= MAX_MINT:
            raise web.HTTPBadRequest(text=f"n must be within 1..{MAX_MINT}")
        return web.json_response([standin.new_response_url() for _ in range(n)])

    async def records(request: web.Request) -> web.Response:
        return web.json_response({
            "requests": [{"endpoint": r.endpoint, "target": r.target, "errcode": r.errcode, "at": r.at.isoformat()}
                         for r in standin.requests],
            "robot_messages": standin.robot_messages,
            "app_messages": standin.app_messages,
            "response_posts": standin.response_posts,
        }, dumps=lambda o: json.dumps(o, ensure_ascii=False))

    app = web.Application()
    app.router.add_post("/response_urls", mint)
    app.router.add_get("/records", records)
    return app


async def run() -> None:
    standin = WeComStandIn(SystemClock())
    url = await standin.start()
    runner = web.AppRunner(control_app(standin), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    print(json.dumps({"url": url, "control": f"http://{host}:{port}"}), flush=True)
    try:
        await until_stopped()
    finally:
        await runner.cleanup()
        await standin.close()


def main() -> int:
    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
