"""Configuration errors name the file and the key, in words an IT officer can act on."""
from __future__ import annotations

import pytest

from bot.config import ConfigError, load_config

EXAMPLE = open("config.example.toml", encoding="utf-8").read()


def write(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("change, key, words", [
    (('chat_id = "wrkSFfCgAAcnshuanghong"', 'chat_id = "wrkSFfCgAAcnchengnan"'), "翠江镇·双虹村.chat_id", "重复"),
    (('encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"', 'encoding_aes_key = "short"'),
     "wecom.encoding_aes_key", "43"),
    (('confidence_threshold = 0.55', 'confidence_threshold = 3'), "rules.confidence_threshold", "0 到 1"),
    (('duty_notice = "08:00"', 'duty_notice = "8点"'), "schedule.duty_notice", "HH:MM"),
    ((', secretary = true }', ' }'), "翠江镇·城南村.cadres", "党支部书记"),
    (('webhook_key = "robot-key-gaofeng"', 'webhook_key = "env:NO_SUCH_VARIABLE"'),
     "翠江镇·高峰村.webhook_key", "NO_SUCH_VARIABLE"),
])
def test_errors_name_the_file_and_key(tmp_path, change, key, words):
    old, new = change
    assert old in EXAMPLE
    path = write(tmp_path, EXAMPLE.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert info.value.key == key and words in info.value.problem and str(path) in str(info.value)


def test_missing_required_key_and_broken_toml(tmp_path):
    with pytest.raises(ConfigError, match=r"翠江镇·城南村\.chat_id: 缺少此项"):
        load_config(write(tmp_path, EXAMPLE.replace('chat_id = "wrkSFfCgAAcnchengnan"\n', "", 1)), env={})
    with pytest.raises(ConfigError, match="TOML 格式错误"):
        load_config(write(tmp_path, "[server\nport = 1"), env={})
    with pytest.raises(ConfigError, match="找不到配置文件"):
        load_config(tmp_path / "nope.toml")


def test_secrets_come_from_the_environment(tmp_path):
    path = write(tmp_path, EXAMPLE.replace('webhook_key = "robot-key-gaofeng"', 'webhook_key = "env:ROBOT_GF"'))
    config = load_config(path, env={"XIAOWEI_WECOM_SECRET": "from-env", "ROBOT_GF": "k-gf",
                                    "XIAOWEI_SERVER_PORT": "9090"})
    assert config.wecom.secret == "from-env" and config.server.port == 9090
    assert config.village_by_name("高峰村").webhook_key == "k-gf"
    assert config.storage_path == tmp_path / "var" / "xiaowei.db"     # relative to the config file


def refused(tmp_path, *changes: tuple[str, str], env: dict | None = None) -> ConfigError:
    """The error load_config raises for the example with each (old, new) applied once; old must be there."""
    text = EXAMPLE
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env=env or {})
    return info.value


@pytest.mark.parametrize("change, message", [
    (("[schedule]", "[schedul]"), "schedul: 未知的配置节；您是不是要写 schedule？"),
    (("[[towns.villages]]", "[[towns.village]]"), "翠江镇.village: 未知的配置项；您是不是要写 villages？"),
    (("[server]\n", "port = 9090\n[server]\n"), "port: 这一项应写在 [server] 下面"),
    (("confidence_threshold = 0.55", "confidence = 0.5"), "rules.confidence: 未知的配置项；您是不是要写 confidence_threshold？"),
    (("window_minutes = 120", "window_minute = 120"), "schedule.window_minute: 未知的配置项；您是不是要写 window_minutes？"),
    (('inspector_webhook_key = ""', 'inspector_webhook = ""'),
     "翠江镇.inspector_webhook: 未知的配置项；您是不是要写 inspector_webhook_key？"),
    (("mini_program_url =", "miniprogram_url ="), "翠江镇·城南村.miniprogram_url: 未知的配置项；您是不是要写 mini_program_url？"),
    (('phone = "13900000012"', 'phon = "13900000012"'), "翠江镇·城南村.cadres[1].phon: 未知的配置项；您是不是要写 phone？"),
    (('post = "镇纪委干部", phone = "13800000002"', 'post = "镇纪委干部", secretary = true'),
     "翠江镇.inspectors[1].secretary: 只有村干部（cadres）才标注 secretary（党支部书记）"),
])
def test_unknown_sections_and_keys_are_refused_with_a_suggestion(tmp_path, change, message):
    error = refused(tmp_path, change)
    assert str(error) == f"{tmp_path / 'config.toml'}: {message}"


def test_an_inspector_is_never_a_cadre_or_link_leader_of_a_village(tmp_path):
    # He would receive the reports about himself.
    error = refused(tmp_path, ('userid = "cn-li"', 'userid = "zjw-ren"'))
    assert error.key == "翠江镇·城南村.cadres[1].userid"
    assert "zjw-ren" in error.problem and "翠江镇.inspectors[1]" in error.problem
    error = refused(tmp_path, ('userid = "zf-wu"', 'userid = "zjw-hu"'))
    assert error.key == "翠江镇·双虹村.link_leader.userid" and "翠江镇.inspectors[0]" in error.problem


def test_one_person_once_in_a_village_and_among_a_towns_inspectors(tmp_path):
    error = refused(tmp_path, ('userid = "cn-chen"', 'userid = "cn-li"'))
    assert str(error) == f"{tmp_path / 'config.toml'}: 翠江镇·城南村.cadres[2].userid: cn-li 与 cadres[1] 的 userid 重复"
    error = refused(tmp_path, ('userid = "zjw-ren"', 'userid = "zjw-hu"'))
    assert error.key == "翠江镇.inspectors[1].userid" and "zjw-hu 与 inspectors[0]" in error.problem


@pytest.mark.parametrize("changes, key, words", [
    ([('corp_id = "ww0000000000000000"', 'corp_id = ""')], "wecom.corp_id", "wecom.encoding_aes_key"),
    ([('corp_id = "ww0000000000000000"', 'corp_id = ""'), ('token = "change-me"\n', 'token = ""\n'),
      ('encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"', 'encoding_aes_key = ""')],
     "wecom.corp_id", "wecom.secret"),
    ([("agent_id = 1000002\n", "")], "wecom.agent_id", "AgentId"),
    ([('encoding_aes_key = "GFEDCBA9876543210zyxwvutsrqponmlkjihgfedcba"', 'encoding_aes_key = ""')],
     "aibot.encoding_aes_key", "token"),
    ([('token = "change-me-too"', 'token = ""')], "aibot.token", "encoding_aes_key"),
    ([('token = "change-me"\n', 'token = ""\n')], "wecom.token", "encoding_aes_key"),
    ([('encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"',
       'encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDE-G"')], "wecom.encoding_aes_key", "字符"),
])
def test_a_channel_with_a_part_missing_is_refused(tmp_path, changes, key, words):
    error = refused(tmp_path, *changes)
    assert error.key == key and words in error.problem


@pytest.mark.parametrize("change, key, words", [
    (('name = "城南村"\n', ""), "翠江镇.villages[0].name", "缺少此项"),    # no name: fall back to the position
    (('name = "双虹村"', 'name = "城南村"'), "翠江镇.villages[1].name", "与 翠江镇·城南村 重复"),
    (('name = "高峰村"', 'name = ""'), "翠江镇.villages[2].name", "不能为空"),
    (('inspector_webhook_key = ""', 'inspector_webhook_key = "robot-key-gaofeng"'),
     "翠江镇.inspector_webhook_key", "翠江镇·高峰村"),
    (('work_end = "17:30"', 'work_end = "08:00"'), "rules.work_end", "work_start"),
    (("port = 8080", "port = 80800"), "server.port", "1 到 65535"),
    (("max_age_seconds = 300", "max_age_seconds = -1"), "bridge.max_age_seconds", "正整数"),
    (("window_minutes = 120", "window_minutes = 0"), "schedule.window_minutes", "正整数"),
    (("[server]\n", "[server]\nclock_skew_seconds = 0\n"), "server.clock_skew_seconds", "正整数"),
    (("[server]\n", "[server]\nread_timeout_seconds = -5\n"), "server.read_timeout_seconds", "正整数"),
])
def test_errors_name_towns_and_villages_by_name_and_refuse_what_would_hurt(tmp_path, change, key, words):
    error = refused(tmp_path, change)
    assert error.key == key and words in error.problem, str(error)


def test_server_timing_keys_have_defaults_and_can_be_set_or_overridden(tmp_path):
    config = load_config(write(tmp_path, EXAMPLE), env={})
    assert (config.server.clock_skew_seconds, config.server.read_timeout_seconds) == (600, 10)
    text = EXAMPLE.replace("[server]\n", "[server]\nclock_skew_seconds = 120\nread_timeout_seconds = 5\n")
    config = load_config(write(tmp_path, text), env={"XIAOWEI_SERVER_READ_TIMEOUT_SECONDS": "7"})
    assert (config.server.clock_skew_seconds, config.server.read_timeout_seconds) == (120, 7)


def test_the_example_passes_but_warns_about_its_sample_values(tmp_path):
    config = load_config("config.example.toml", env={})
    warned = {w.split(": ", 1)[0] for w in config.warnings}
    assert {"wecom.corp_id", "wecom.secret", "wecom.token", "wecom.encoding_aes_key", "aibot.token",
            "aibot.encoding_aes_key", "翠江镇·城南村.webhook_key"} <= warned
    assert "wecom.agent_id" not in warned and "aibot.name" not in warned and "wecom.api_base" not in warned
    # A real value from the environment is not a placeholder; an override is not an unknown key either.
    env = {"XIAOWEI_WECOM_SECRET": "Qk3Hs8cN2", "XIAOWEI_BRIDGE_SECRET": "xxx"}
    text = EXAMPLE.replace('inspector_webhook_key = ""', 'inspector_webhook_key = "your-secret"')
    config = load_config(write(tmp_path, text), env=env)
    warned = {w.split(": ", 1)[0] for w in config.warnings}
    assert "wecom.secret" not in warned and config.wecom.secret == "Qk3Hs8cN2"
    assert {"bridge.secret", "翠江镇.inspector_webhook_key"} <= warned


def test_check_config_prints_the_warnings_and_still_succeeds(tmp_path, capsys):
    from bot.cli import main
    assert main(["check-config", "--config", "config.example.toml"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("配置正确：")
    assert "  注意：wecom.secret: 还是占位值 change-me，正式使用前请换成真实值" in out.splitlines()
    assert "  注意：翠江镇·城南村.webhook_key: 还是占位值 robot-key-chengnan，正式使用前请换成真实值" in out

    text = EXAMPLE
    for old, new in (("ww0000000000000000", "ww8a31c4f0e2b9d675"), ('"change-me"', '"Qk3Hs8cN2"'),
                     ('"change-me-too"', '"T0k9Lm2Q"'), ("robot-key-", "6f1c-"),
                     ("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "q7R2mZ0aX9cV4bN1kL8jH3gF6dS5aP0oI2uY7tR4eW1"),
                     ("GFEDCBA9876543210zyxwvutsrqponmlkjihgfedcba", "w1E4rT7yU2iO0pA5sD6fG3hJ8kL9zX1cV2bN3mQ4aZ0"),
                     ("# start = 2026-12-01", "start = 2026-12-01")):    # the day the county went live
        text = text.replace(old, new)
    assert main(["check-config", "--config", str(write(tmp_path, text))]) == 0
    assert "注意" not in capsys.readouterr().out

    assert main(["check-config", "--config", str(write(tmp_path, EXAMPLE.replace("[rules]", "[rule]")))]) == 2
    assert "rule: 未知的配置节；您是不是要写 rules？" in capsys.readouterr().err


def test_the_it_officers_robot_is_optional_and_may_come_from_the_environment(tmp_path):
    path = write(tmp_path, EXAMPLE)
    assert load_config(path, env={}).admin_webhook_key == ""
    assert load_config(path, env={"XIAOWEI_ADMIN_WEBHOOK_KEY": "it-robot"}).admin_webhook_key == "it-robot"
    text = EXAMPLE.replace('[admin]\n', '[admin]\nwebhook_key = "env:IT_ROBOT"\n', 1).replace('webhook_key = ""\n', '', 1)
    assert load_config(write(tmp_path, text), env={"IT_ROBOT": "k"}).admin_webhook_key == "k"


def test_kf_account_and_village_links(tmp_path, capsys):
    link = "https://work.weixin.qq.com/kf/kfc0123abcd?enc_scene=ENC0123&scene_param=%E5%9F%8E%E5%8D%97%E6%9D%91"
    text = EXAMPLE.replace('open_kfid = ""', 'open_kfid = "wkXiaowei"').replace(
        'mini_program_url = "#小程序://基层小微权力监督/城南村"', f'kf_link = "{link}"')
    config = load_config(write(tmp_path, text), env={})
    assert config.kf.open_kfid == "wkXiaowei" and config.village_by_name("城南村").kf_link == link
    from bot.cli import main
    assert main(["check-config", "--config", str(write(tmp_path, text))]) == 0
    out = capsys.readouterr().out
    assert f"    私信链接（微信客服）：{link}" in out.splitlines()
    assert "    私信链接（微信客服）：未配置（值班公告里不会有私信链接）" in out.splitlines()   # the other villages
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text.replace("open_kfid", "open_kf_id")), env={})
    assert info.value.key == "kf.open_kf_id" and "open_kfid" in info.value.problem
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text.replace(f'kf_link = "{link}"', 'kf_link = "work.weixin.qq.com/kf/x"')), env={})
    assert info.value.key == "翠江镇·城南村.kf_link"
    no_secret = text.replace('secret = "change-me"                 # better', 'secret = ""  # better')
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, no_secret), env={})
    assert info.value.key == "kf.open_kfid" and "wecom.secret" in info.value.problem


def test_the_desk_section_is_checked_and_a_desk_without_its_address_is_a_warning(tmp_path):
    path = tmp_path / "config.toml"
    text = EXAMPLE
    path.write_text(text.replace('secret = ""                    # at least 16', 'secret = "short"  # at least 16'),
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="desk.secret"):
        load_config(path, env={})
    path.write_text(text.replace('secret = ""                    # at least 16',
                                 'secret = "a-desk-secret-of-32-characters!!"  # at least 16'), encoding="utf-8")
    config = load_config(path, env={})
    assert config.desk.secret and any(w.startswith("desk.base_url") for w in config.warnings)
    path.write_text(text.replace('base_url = ""', 'base_url = "ftp:/nowhere"'), encoding="utf-8")
    with pytest.raises(ConfigError, match="desk.base_url"):
        load_config(path, env={})
