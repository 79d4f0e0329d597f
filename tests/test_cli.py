"""The CLI: exact output, exit codes (0 ok, 1 input errors, 2 usage/spec/file problems), no tracebacks."""

from __future__ import annotations

import io
import json
import re
import unicodedata
from collections.abc import Iterator

import click
import openpyxl
import pytest
from click.testing import CliRunner

from xlkit.cli import main
from xlkit.form.load import load_spec


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_build_default_form(runner, tmp_path):
    out = tmp_path / "t.xlsx"
    result = runner.invoke(main, ["build", "-o", str(out), "--unit-code", "U1", "--unit-name", "单位甲", "--year", "2024",
                                  "--param", "sub_units=3", "--param", "projects=2", "--param", "tasks=8", "--password", "pw"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"已生成 {out}：部门（单位）整体支出绩效自评表 {load_spec().template.version}，")
    book = openpyxl.load_workbook(out)
    assert "income.sub3.total" in book.defined_names
    assert "tasks.8" in book.defined_names and "tasks.9" not in book.defined_names
    assert "projects.p2.name" in book.defined_names and "projects.p3.name" not in book.defined_names


def test_build_with_sub_unit_names(runner, tmp_path):
    """Items of any parameter are named by --item; the command knows no parameter of one form by name."""
    out = tmp_path / "t.xlsx"
    result = runner.invoke(main, ["build", "-o", str(out), "--item", "sub_units=信息中心", "--item", "sub_units=执法支队"])
    assert result.exit_code == 0, result.output
    labels = [c.value for c in openpyxl.load_workbook(out)["收支情况"]["A"]]
    assert "2、信息中心" in labels and "3、执法支队" in labels


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["build", "-o", "X/t.xlsx", "--param", "sub_units=99"], "错误：二级机构数 (sub_units) 应在 0 到 40 之间，实为 99"),
        (["build", "-o", "X/t.xlsx", "--sub-units", "3"], "用法："),  # a parameter of one form is no option of the command
        (["build", "-o", "X/t.xlsx", "--param", "tasks"], "错误：--param 应写作 NAME=N（N 为非负整数），实际为 'tasks'"),
        (["build", "-o", "X/t.xlsx", "--param", "nosuch=3"], "错误：未知的构建参数 nosuch（已定义："),
        (["build", "missing.yaml", "-o", "X/t.xlsx"], "错误：missing.yaml: 无法读取表式文件："),
        (["fields", "nosuch.xlsx"], "错误：nosuch.xlsx: 文件不存在"),
        (["fill", "nosuch.xlsx", "d.json", "-o", "X/o.xlsx"], "错误：d.json: 无法读取填报数据："),
        (["build", "-o", "X/t.xlsx", "--item", "sub_units="], "错误：--item 应写作 NAME=TEXT（TEXT 不能为空），实际为 'sub_units='"),
        (["build", "-o", "X/t.xlsx", "--item", "sub_units=甲", "--param", "sub_units=3"], "错误：二级机构数 (sub_units) 要求 3 项，但给出了 1 个名称"),
        (["consolidate", "-o", "X/s.xlsx"], "错误：没有给出要汇总的文件或文件夹：请给出 INPUTS，或用 --campaign DIR"),
        (["consolidate", "--campaign", "C", "--year", "2024", "-o", "X/s.xlsx"], "错误：--campaign 从报送任务目录取文件、名单、年度和表式：与它同用时不要再给"),
    ],
)
def test_usage_and_file_problems_exit_2_with_one_line(runner, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert result.output.startswith(message), result.output
    assert "Traceback" not in result.output


def test_an_error_is_one_chinese_line_on_stderr(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["build", "-o", "X/t.xlsx", "--param", "tasks"])
    assert result.exit_code == 2
    assert result.stdout == "" and result.stderr == "错误：--param 应写作 NAME=N（N 为非负整数），实际为 'tasks'\n"


def test_fields_lists_every_field(runner):
    result = runner.invoke(main, ["fields", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.output)
    ids = [r["id"] for r in rows]
    for field_id in ("unit.name", "unit.code", "year", "contact.name", "contact.phone", "staff.authorized", "staff.actual",
                     "score", "grade", "income.all.total", "income.sub2.other", "expense.office.balance_cum",
                     "sangong.all.overseas", "assets.sub1.leased", "sangong_budget.all.reception"):
        assert field_id in ids, field_id
    grade = rows[ids.index("grade")]
    assert (grade["sheet"], grade["kind"], grade["type"]) == ("绩效自评", "formula", "grade")
    assert set(rows[0]) >= {"id", "sheet", "cell", "kind", "type", "label", "required"}
    text = runner.invoke(main, ["fields"]).output
    assert text.splitlines()[0].split()[:4] == ["cover.unit_name", "封面!B4", "formula", "name"]
    assert text.rstrip().endswith(f"{len(rows)} 个字段；* 为必填")


def test_fields_of_a_workbook_and_of_a_spec(runner, tmp_path, spec):
    from xlkit.form.load import builtin_spec_path

    out = tmp_path / "t.xlsx"
    runner.invoke(main, ["build", "-o", str(out), "--param", "sub_units=4"])
    from_book = json.loads(runner.invoke(main, ["fields", str(out), "--json"]).output)
    assert "income.sub4.total" in [r["id"] for r in from_book]
    from_spec = json.loads(runner.invoke(main, ["fields", str(builtin_spec_path()), "--json"]).output)
    assert "income.sub4.total" not in [r["id"] for r in from_spec]


def test_fill_command(runner, tmp_path, seed_template):
    data = tmp_path / "d.json"
    data.write_text(json.dumps({"income.office.fiscal": 100.5, "score": 85}), encoding="utf-8")
    out = tmp_path / "f.xlsx"
    result = runner.invoke(main, ["fill", str(seed_template), str(data), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output == f"已生成 {out}：填入 2 个值\n"
    book = openpyxl.load_workbook(out, data_only=True)
    sheet, cell = next(book.defined_names["grade"].destinations)
    assert book[sheet][cell.replace("$", "")].value == "良好"


def test_fill_refuses_bad_data(runner, tmp_path, seed_template):
    data = tmp_path / "d.json"
    data.write_text(json.dumps({"income.all.total": 1, "bogus": 2}), encoding="utf-8")
    out = tmp_path / "f.xlsx"
    result = runner.invoke(main, ["fill", str(seed_template), str(data), "-o", str(out)])
    assert result.exit_code == 2
    assert result.output.startswith("错误：填报数据中有 2 处问题，未写入任何内容：")
    assert "bogus: 未知的字段 id" in result.output
    assert not out.exists()


def test_fill_refuses_a_workbook_that_is_not_ours(runner, tmp_path):
    other = tmp_path / "other.xlsx"
    openpyxl.Workbook().save(other)
    data = tmp_path / "d.json"
    data.write_text("{}", encoding="utf-8")
    result = runner.invoke(main, ["fill", str(other), str(data), "-o", str(tmp_path / "o.xlsx")])
    assert result.exit_code == 2
    assert "not-our-template" in result.output
    garbage = tmp_path / "g.xlsx"
    garbage.write_text("<html>not a workbook</html>", encoding="utf-8")
    result = runner.invoke(main, ["fields", str(garbage)])
    assert result.exit_code == 2 and "not-a-zip: 文件不是Excel工作簿" in result.output


def _commands(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command and group of the tree, with the words that call it."""
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


CJK = re.compile(r"[\u3400-\u9fff]")
CLICK_WORDS = ["Usage:", "Options:", "Commands:", "Arguments:", "Show this message", "Show the version", "[default", "[required]",
               "env var:", "<=x", "x<=", "x>=", "x>", "x<", "[OPTIONS]", "COMMAND [ARGS]", "INTEGER RANGE", "FLOAT RANGE", "(dynamic)"]


def _columns(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def _help(runner: CliRunner, path: tuple[str, ...]) -> str:
    result = runner.invoke(main, [*path, "--help"], prog_name="xlkit", terminal_width=78)
    assert result.exit_code == 0, (path, result.output)
    return result.output


def test_every_help_is_chinese(runner):
    """Each command's and group's help, every option's, and click's own words (headings, the help and version options,
    defaults, required, ranges, the usage line's placeholders) are Chinese; lines fit the terminal as they show."""
    walked = list(_commands(main))
    assert len(walked) >= 38 and {("campaign", "user", "add"), ("spec", "import"), ("mail", "send")} <= {p for p, _ in walked}
    for path, command in walked:
        output = _help(runner, path)
        assert output.startswith(f"用法：{' '.join(('xlkit', *path))} [选项]"), output
        assert "\n选项：\n" in output, (path, output)
        assert ("\n命令：\n" in output) == isinstance(command, click.Group), path
        for words in CLICK_WORDS:
            assert words not in output, (path, words, output)
        assert CJK.search(command.help or ""), (path, command.help)
        assert CJK.search(command.get_short_help_str(60)), path
        ctx = click.Context(command, info_name=path[-1] if path else "xlkit")
        for param in command.get_params(ctx):
            if isinstance(param, click.Option):
                assert CJK.search(param.help or ""), (path, param.name, param.help)  # help and version options included
        for line in output.splitlines():
            assert _columns(line) <= 78, (path, line)
    assert "显示本帮助并退出。" in _help(runner, ("spec", "check"))
    assert "显示版本并退出。" in _help(runner, ())


def test_help_says_defaults_ranges_and_required_in_chinese(runner):
    output = " ".join(_help(runner, ("consolidate",)).split())
    assert "-o, --output FILE 要写出的汇总表（.xlsx）。 [必填]" in output, output
    assert "[默认：120；取值 1 到 3600]" in output and "[默认：Asia/Shanghai]" in output and "[取值 1 到 64]" in output
    assert "[默认：8750；取值 1 到 65535]" in " ".join(_help(runner, ("serve",)).split())
    assert "[至少 1]" in " ".join(_help(runner, ("accept",)).split())


def test_groups_list_each_command_by_its_first_sentence(runner):
    """A group's command list shows each docstring's first sentence, whole (click's own cut looks for an English full
    stop and counts a Chinese character as one column)."""
    for path, group in _commands(main):
        if not isinstance(group, click.Group):
            continue
        rows = _help(runner, path).split("\n命令：\n")[1]
        for name, command in group.commands.items():
            first = " ".join((command.help or "").split("。")[0].split())
            assert re.search(rf"^  {re.escape(name)} +{re.escape(first)}$", rows, re.M), (path, name, rows)
        assert "..." not in rows and "…" not in rows


def test_help_lines_break_where_chinese_text_may():
    """By columns, between Chinese characters, never before a closing mark or after an opening one; a bracketed note whole."""
    from xlkit.cli.helptext import wrap

    text = "管理 xlkit serve 的工作人员账号。新增（add）、列出（list）、停用（disable）、改密码（passwd）。"
    for width in range(16, 80):
        lines = wrap(text, width, "  ", "  ")
        assert "".join(line.strip() for line in lines).replace(" ", "") == text.replace(" ", ""), width
        for line in lines:
            assert _columns(line) <= width, (width, line)
            assert line[2] not in "）、。" and line[-1] not in "（", (width, lines)
    assert wrap("每个文件最多用时（秒）。  [默认：120；取值 1 到 3600]", 30) == ["每个文件最多用时（秒）。", "[默认：120；取值 1 到 3600]"]


def test_version_and_usage_errors_use_the_chinese_words(runner):
    result = runner.invoke(main, ["--version"], prog_name="xlkit")
    assert result.exit_code == 0 and result.output.startswith("xlkit 版本 "), result.output
    result = runner.invoke(main, ["build", "--sub-units", "3"], prog_name="xlkit")
    assert result.exit_code == 2 and result.output.startswith("用法：xlkit build [选项] [SPEC]\n"), result.output


def test_demo_runs_end_to_end(runner, tmp_path):
    result = runner.invoke(main, ["demo", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "种子单位：收入合计 1126.28，支出合计 1002.25，当年结余 20.26，累计结余 124.03，三公经费 8.71，评价等次 优秀" in result.output
    assert (tmp_path / "demo" / "summary.xlsx").exists() and (tmp_path / "demo" / "summary.csv").exists()


CLICK_USAGE_WORDS = ("Error:", "Try '", "No such", "Missing", "Invalid value", "is not", "Did you mean", "does not",
                     "requires", "unexpected", "Usage:")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["build", "--nope"], "错误：没有选项 --nope；请运行 xlkit build -h 查看用法。"),
        (["build", "--yaer", "2024"], "错误：没有选项 --yaer；是不是以下之一：--param、--year？请运行 xlkit build -h 查看用法。"),
        (["build", "--outptu", "x"], "错误：没有选项 --outptu；是不是 --output？请运行 xlkit build -h 查看用法。"),
        (["build"], "错误：缺少必填的选项 -o / --output；请运行 xlkit build -h 查看用法。"),
        (["campaign", "user", "add"], "错误：缺少参数 DIRECTORY；请运行 xlkit campaign user add -h 查看用法。"),
        (["campaign", "user", "add", "D", "L", "--name", "甲"],
         "错误：缺少必填的选项 --role；可选：admin、reviewer、department；请运行 xlkit campaign user add -h 查看用法。"),
        (["campaign", "user", "add", "D", "L", "--role", "老板"],
         "错误：--role 的值有误：「老板」不是可选的值（admin、reviewer、department）；请运行 xlkit campaign user add -h 查看用法。"),
        (["build", "-o", "t.xlsx", "--year", "1999"], "错误：--year 的值有误：「1999」超出范围（取值 2000 到 2100）；请运行 xlkit build -h 查看用法。"),
        (["build", "-o", "t.xlsx", "--year", "二〇二四"], "错误：--year 的值有误：「二〇二四」不是整数；请运行 xlkit build -h 查看用法。"),
        (["check", "x.xlsx", "--timeout", "abc"], "错误：--timeout 的值有误：「abc」不是数值；请运行 xlkit check -h 查看用法。"),
        (["build", "-o", "t.xlsx", "a.yaml", "b c"], "错误：多出了参数：b c；请运行 xlkit build -h 查看用法。"),
        (["buld"], "错误：没有命令 buld；是不是 build？请运行 xlkit -h 查看用法。"),
        (["nosuch"], "错误：没有命令 nosuch；请运行 xlkit -h 查看用法。"),
        (["--forms", "."], "错误：缺少命令；请运行 xlkit -h 查看用法。"),
        (["build", "-o"], "错误：选项 -o 后面缺少它的值；请运行 xlkit build -h 查看用法。"),
        (["fields", "--json=yes"], "错误：选项 --json 不带值；请运行 xlkit fields -h 查看用法。"),
        (["--forms", "C:\\表式\\无此'夹", "build"], "错误：--forms 的值有误：路径「C:\\表式\\无此'夹」不存在；请运行 xlkit -h 查看用法。"),
        (["serve", "D", "--max-upload-mb", "50", "--upload-mb-per-day", "10"],  # the program's own BadParameter
         "错误：--upload-mb-per-day 的值有误：不能小于 --max-upload-mb（50）；请运行 xlkit serve -h 查看用法。"),
    ],
)
def test_clicks_usage_errors_are_said_in_chinese(runner, tmp_path, monkeypatch, args, line):
    """click's own usage errors: the usage line, then one Chinese line naming the option or value as typed and where the
    help is; exit 2; none of click's English."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, args, prog_name="xlkit")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    usage, said = result.stderr.splitlines()
    assert said == line
    assert usage.startswith(f"用法：{line.split('请运行 ')[1].split(' -h ')[0]} [选项]"), usage
    for words in CLICK_USAGE_WORDS:
        assert words not in result.output, words


def test_a_usage_message_not_in_the_table_still_shows():
    """A message click may word otherwise tomorrow is never dropped: 错误： then click's words; the table's parts are
    read as typed and the ranges said as the help says them."""
    from xlkit.cli.helptext import UsageProblem, usage_message

    assert usage_message("Something new happened.") == "Something new happened."
    assert usage_message("Invalid value for '--x': something new.") == "--x 的值有误：something new."
    assert usage_message("'a\\\\b\"c' is not a valid integer.") == "「a\\b\"c」不是整数"
    ranges = {"0<x<1": "取值 0 到 1（不含两端）", "x>=1": "至少 1", "x>0": "大于 0", "x<=9": "至多 9", "x<9": "小于 9",
              "1<=x<9": "取值 1 到 9（不含上限）"}
    for text, words in ranges.items():
        assert usage_message(f"5 is not in the range {text}.") == f"「5」超出范围（{words}）"
    shown = io.StringIO()
    ctx = main.context_class(main, info_name="xlkit", **main.context_settings)
    UsageProblem(click.UsageError("Something new happened."), ctx).show(shown)
    assert shown.getvalue() == "用法：xlkit [选项] 命令 [参数]...\n错误：Something new happened.；请运行 xlkit -h 查看用法。\n"
    with pytest.raises(UsageProblem) as raised:  # raised by the command itself, not only shown by click's main
        main.main(["build", "--nope"], prog_name="xlkit", standalone_mode=False)
    assert raised.value.exit_code == 2 and isinstance(raised.value.original, click.NoSuchOption)
