"""Running the service: serve, check-config, init, demo."""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path


def add_commands(add) -> None:
    add("serve", "启动服务：接收企业微信回调、发送消息、运行定时任务").set_defaults(run=serve)
    add("check-config", "检查配置文件，指出哪一项有问题").set_defaults(run=check_config)
    p = add("init", "在目录里写一份起始配置 config.toml（来自示例配置），再按注释填写", config=False)
    p.add_argument("dir", help="写入的目录（不存在会新建）")
    p.set_defaults(run=init)
    p = add("demo", "演示：用临时数据库和本地模拟的企业微信，跑一个上午的群消息并打印群聊记录", config=False)
    p.add_argument("--keep", metavar="DIR", help="把演示数据库保存在这个目录（默认用完即删）")
    p.add_argument("--group", choices=("internal", "customer", "bridge"), default="internal",
                   help="演示哪种群：internal 企业微信内部群（默认）；customer 客户群（会话存档、群主确认群发、"
                        "干部转发答复）；bridge 经网关接入的普通微信群")
    p.add_argument("--serve", action="store_true", help="演示结束后继续运行，可用浏览器打开工作台（Ctrl-C 退出）")
    p.set_defaults(run=demo)


def serve(args: argparse.Namespace) -> int:
    from bot import plugins
    from bot.app import AlreadyRunning, Bot
    from bot.cli.common import config
    from bot.web import serve as serve_forever
    cfg = config(args)
    try:
        bot = Bot(cfg, handlers=plugins.handlers(), jobs=plugins.jobs())
        asyncio.run(serve_forever(bot, cfg.server.host, cfg.server.port))
    except (AlreadyRunning, plugins.NoPlugins) as exc:
        print(f"无法启动：{exc}", file=sys.stderr)
        return 1
    return 0


def check_config(args: argparse.Namespace) -> int:
    from bot.config import ConfigError, load_config
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"配置有误：{exc}", file=sys.stderr)
        return 2
    villages = list(cfg.villages())
    print(f"配置正确：{args.config}")
    print(f"  {len(cfg.towns)} 个镇，{len(villages)} 个村（社区）：" + "、".join(v.name for v in villages))
    for name, value in (("自建应用回调", cfg.wecom.encoding_aes_key), ("智能机器人回调", cfg.aibot.encoding_aes_key),
                        ("桥接 /bridge", cfg.bridge.secret), ("微信客服", cfg.kf.open_kfid)):
        print(f"  {name}：{'已配置' if value else '未配置'}")
    print(f"  审计密钥：{audit_key_source(cfg)}")
    scheduled = sum(item.scheduled for item in cfg.power_list.items)
    print(f"  小微权力清单：{len(cfg.power_list.items)} 项，其中 {scheduled} 项定期公开（{cfg.power_list.source}）")
    from bot.group_kinds import readiness
    names = {"internal": "企业微信内部群", "customer": "客户群", "bridge": "微信群（经网关）"}
    for village in villages:
        ready = readiness(cfg, village)
        print(f"  {village.name}（{names[village.group]}）\n    可以：{ready.can}\n    做不到：{ready.cannot}")
        for item in ready.missing:
            print(f"    还缺：{item}")
        if cfg.kf.open_kfid:     # the link the duty notice carries; one per village (scene_param = the village)
            print(f"    私信链接（微信客服）：{village.kf_link or '未配置（值班公告里不会有私信链接）'}")
    for warning in cfg.warnings:   # sample values left in: fine for a trial, so still exit 0
        print(f"  注意：{warning}")
    return 0


def audit_key_source(cfg) -> str:
    from bot.ledger import key_file
    if cfg.audit.key:
        return "已配置"
    path = key_file(cfg)
    return f"使用密钥文件 {path}" if path.exists() else f"未配置，首次启动时生成 {path}（请与数据库备份分开保管）"


def init(args: argparse.Namespace) -> int:
    from bot.sandbox.config import example_config_path
    target = Path(args.dir) / "config.toml"
    if target.exists():
        print(f"{target} 已存在，没有覆盖。", file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(example_config_path().read_text(encoding="utf-8"), encoding="utf-8")
    print(f"已写入 {target}。请按注释填写企业微信的 ID 和密钥、各镇各村的干部，"
          f"然后运行：xiaowei check-config --config {target}")
    return 0


def demo(args: argparse.Namespace) -> int:
    from bot import plugins
    if args.group != "internal":
        from bot.sandbox.demo_groups import run_group_demo
        return asyncio.run(run_group_demo(sys.stdout, args.group, handlers=plugins.handlers(), jobs=plugins.jobs(),
                                          keep=args.keep))
    from bot.sandbox.demo import run_demo
    return asyncio.run(run_demo(sys.stdout, handlers=plugins.handlers(), jobs=plugins.jobs(), keep=args.keep,
                                serve=args.serve))
