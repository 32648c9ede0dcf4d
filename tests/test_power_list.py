"""The power list as data: the shipped sample, a county's own file or items in its config, mistakes naming the
file and the key, items named by a unique prefix, the periods a 公示 covers, and `xiaowei power-list`."""
from __future__ import annotations

from datetime import date

import pytest

from bot.cli import main
from bot.config import ConfigError, load_config
from bot.power_list import last_ended, named_period
from bot.sandbox.config import example_config_path

EXAMPLE = example_config_path().read_text(encoding="utf-8")
ITEMS_NEEDED = ("财务收支", "低保对象", "工程项目", "集体三资", "党费收缴")


def config_with(tmp_path, extra: str, **files: str):
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    path = tmp_path / "config.toml"
    text = EXAMPLE.replace("\n[power_list]\n", "\n", 1)     # the example's own (empty) section, replaced
    path.write_text(text.replace("[[towns]]", extra + "\n[[towns]]", 1), encoding="utf-8")
    return load_config(path, env={})


def test_the_sample_list_has_the_items_the_issue_names_with_their_cycles(tmp_path):
    listed = config_with(tmp_path, "").power_list
    cycles = {name: listed.find(name).cycle for name in ITEMS_NEEDED}
    assert cycles == {"财务收支": "monthly", "低保对象": "per_event", "工程项目": "per_event",
                      "集体三资": "quarterly", "党费收缴": "quarterly"}
    assert listed.find("工程项目").before_decision and not listed.find("财务收支").before_decision
    assert listed.find("低保") is listed.find("低保对象")           # a unique prefix names the item
    assert listed.find("党") is None                                # 党费收缴 or 党员发展: not unique
    assert {i.category for i in listed.items} == {"党务", "村务", "财务"}


def test_a_county_extends_and_overrides_items_in_its_config(tmp_path):
    listed = config_with(tmp_path, '[power_list]\nstart = 2026-12-01\n[[power_list.items]]\nname = "财务收支"\n'
                                   'due_workdays = 5\n[[power_list.items]]\nname = "殡葬改革"\ncategory = "村务"\n'
                                   'cycle = "yearly"\npublic_days = 5\n').power_list
    assert listed.find("财务收支").due_workdays == 5 and listed.find("财务收支").public_days == 7   # rest kept
    assert listed.find("殡葬").cycle == "yearly" and listed.start == date(2026, 12, 1)


def test_a_county_replaces_the_list_with_its_own_file(tmp_path):
    own = '[[items]]\nname = "财务收支"\ncategory = "财务"\ncycle = "monthly"\npublic_days = 3\n'
    listed = config_with(tmp_path, '[power_list]\nfile = "county.toml"\n', **{"county.toml": own}).power_list
    assert [i.name for i in listed.items] == ["财务收支"] and listed.source == str(tmp_path / "county.toml")


@pytest.mark.parametrize("extra, files, where, words", [
    ('[power_list]\nfile = "county.toml"\n', {"county.toml": '[[items]]\nname = "财务收支"\ncategory = "财务"\n'
                                                            'cycle = "weekly"\npublic_days = 3\n'},
     "county.toml: items.财务收支.cycle", "应为 monthly"),
    ('[power_list]\nfile = "county.toml"\n', {"county.toml": '[[items]]\nname = "低保"\ncategory = "民政"\n'
                                                            'cycle = "per_event"\npublic_days = 3\n'},
     "county.toml: items.低保.category", "应为 党务、村务、财务 之一"),
    ('[power_list]\nfile = "missing.toml"\n', {}, "missing.toml: (文件)", "找不到"),
    ('[power_list]\n[[power_list.items]]\nname = "财务收支"\npublic_day = 3\n', {},
     "config.toml: power_list.items.财务收支.public_day", "未知的配置项"),
    ('[power_list]\n[[power_list.items]]\nname = "新事项"\ncategory = "村务"\n', {},
     "config.toml: power_list.items.新事项.cycle", "缺少此项"),
    ('[power_list]\nstart = "明天"\n', {}, "config.toml: power_list.start", "日期格式"),
    ('[power_list]\nfiles = "x.toml"\n', {}, "config.toml: power_list.files", "未知的配置项"),
])
def test_mistakes_name_the_file_and_the_key(tmp_path, extra, files, where, words):
    with pytest.raises(ConfigError) as raised:
        config_with(tmp_path, extra, **files)
    assert str(raised.value).startswith(f"{tmp_path / where.split(': ')[0]}: {where.split(': ')[1]}: ")
    assert words in raised.value.problem


def test_the_period_a_gongshi_covers():
    listed = load_config(example_config_path()).power_list
    monthly, quarterly, yearly = listed.find("财务收支"), listed.find("集体三资"), listed.find("村干部报酬")
    on = date(2026, 12, 3)
    assert named_period(monthly, "财务收支明细", on).key == "2026-11"            # names none: the last one ended
    assert named_period(monthly, "2026年10月财务收支", on).key == "2026-10"
    assert named_period(monthly, "12月财务收支", date(2027, 1, 5)).key == "2026-12"   # no year: the latest December
    assert named_period(quarterly, "第三季度集体三资", on).key == "2026-Q3"
    assert named_period(quarterly, "第四季度集体三资", on).key == "2026-Q4"
    assert named_period(yearly, "2025年度村干部报酬", on).key == "2025"
    assert last_ended("half_yearly", on).label == "2026年上半年"
    assert last_ended("quarterly", date(2027, 1, 4)).label == "2026年第4季度"


def test_xiaowei_power_list_prints_the_list_by_category(capsys):
    assert main(["power-list"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("小微权力清单（") and "共 10 项" in out
    assert "    财务收支（财务）：每月，期末后第10个工作日前公开，公示7个工作日，报账员准备" in out
    assert "    工程项目（村务）：每次发生时，事前公示，公示5个工作日，村委会主任准备" in out


def test_check_config_counts_the_list(tmp_path, capsys):
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    assert main(["check-config", "--config", str(path)]) == 0
    assert "  小微权力清单：10 项，其中 5 项定期公开" in capsys.readouterr().out


def test_due_dates_count_working_days_over_holidays_and_adjusted_days():
    from bot.power_list import period_of
    from bot.publicity_due import due_date
    from bot.workdays import WorkCalendar
    listed, calendar = load_config(example_config_path()).power_list, WorkCalendar()
    monthly, quarterly, yearly = listed.find("财务收支"), listed.find("集体三资"), listed.find("村干部报酬")
    # 2025 Q4: Jan 1-3 are 元旦, Sun Jan 4 is worked, so the 10th working day is Thu Jan 15.
    assert due_date(quarterly, period_of("quarterly", date(2025, 11, 1)), calendar) == date(2026, 1, 15)
    assert due_date(yearly, period_of("yearly", date(2025, 6, 1)), calendar) == date(2026, 1, 29)   # 20th
    # 2026 Q3: Oct 1-7 off, Sat Oct 10 worked: Tue Oct 20.
    assert due_date(quarterly, period_of("quarterly", date(2026, 8, 1)), calendar) == date(2026, 10, 20)
    # January's accounts are due Fri Feb 13, the day before the Spring Festival's adjusted Saturday.
    assert due_date(monthly, period_of("monthly", date(2026, 1, 9)), calendar) == date(2026, 2, 13)
