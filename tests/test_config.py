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
    (('chat_id = "wrkSFfCgAAcnshuanghong"', 'chat_id = "wrkSFfCgAAcnchengnan"'), "towns[0].villages[1].chat_id", "重复"),
    (('encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"', 'encoding_aes_key = "short"'),
     "wecom.encoding_aes_key", "43"),
    (('confidence_threshold = 0.55', 'confidence_threshold = 3'), "rules.confidence_threshold", "0 到 1"),
    (('duty_notice = "08:00"', 'duty_notice = "8点"'), "schedule.duty_notice", "HH:MM"),
    ((', secretary = true }', ' }'), "towns[0].villages[0].cadres", "党支部书记"),
    (('webhook_key = "robot-key-gaofeng"', 'webhook_key = "env:NO_SUCH_VARIABLE"'),
     "towns[0].villages[2].webhook_key", "NO_SUCH_VARIABLE"),
])
def test_errors_name_the_file_and_key(tmp_path, change, key, words):
    old, new = change
    assert old in EXAMPLE
    path = write(tmp_path, EXAMPLE.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert info.value.key == key and words in info.value.problem and str(path) in str(info.value)


def test_missing_required_key_and_broken_toml(tmp_path):
    with pytest.raises(ConfigError, match=r"towns\[0\]\.villages\[0\]\.chat_id: 缺少此项"):
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


def test_the_it_officers_robot_is_optional_and_may_come_from_the_environment(tmp_path):
    path = write(tmp_path, EXAMPLE)
    assert load_config(path, env={}).admin_webhook_key == ""
    assert load_config(path, env={"XIAOWEI_ADMIN_WEBHOOK_KEY": "it-robot"}).admin_webhook_key == "it-robot"
    text = EXAMPLE.replace('[admin]\n', '[admin]\nwebhook_key = "env:IT_ROBOT"\n', 1).replace('webhook_key = ""\n', '', 1)
    assert load_config(write(tmp_path, text), env={"IT_ROBOT": "k"}).admin_webhook_key == "k"
