"""`xlkit spec`: tools for writing a form spec (check one, print the schema an editor validates it against)."""

from __future__ import annotations

import click

from .common import dumps, reports_errors
from .helptext import group


@group()
def spec() -> None:
    """编写和检查表式（YAML）。"""


@spec.command(name="check")
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help='输出 JSON（供程序读取）：{"specs": [{"path", "problems": [...]}]}。')
@reports_errors
def check(specs: tuple[str, ...], as_json: bool) -> None:
    """检查表式。逐个列出加载和试生成时在每个 SPEC 中发现的问题，附 YAML 行号；有问题时退出码为 1。"""
    from ..write.speccheck import spec_problems

    found = {path: spec_problems(path) for path in specs}
    if as_json:
        click.echo(dumps({"specs": [{"path": path, "problems": problems} for path, problems in found.items()]}))
    else:
        for path, problems in found.items():
            click.echo(f"{path}: 通过（可以加载并生成模板）" if not problems else f"{path}: {len(problems)} 个问题")
            for problem in problems:
                click.echo(f"  {problem}")
    if any(found.values()):
        raise click.exceptions.Exit(1)


@spec.command(name="schema")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="写到此文件（默认：标准输出）。")
@reports_errors
def schema(output: str | None) -> None:
    """输出表式语言的 JSON Schema。供 YAML 编辑器校验表式（见 docs/forms.md）。"""
    from ..files import atomic_path
    from ..form.schema import spec_schema

    text = dumps(spec_schema())
    if output is None:
        click.echo(text)
        return
    from pathlib import Path

    with atomic_path(Path(output)) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")


@spec.command(name="import")
@click.argument("workbook", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="要写出的表式初稿（YAML）。")
@click.option("--sheets", "sheets", multiple=True, metavar="NAME", help="只导入这些工作表（可重复；默认：全部可见的工作表）。")
@click.option("--id-style", type=click.Choice(["pinyin", "position"]), default="pinyin", show_default=True,
              help="字段 id 取自标签的拼音（pinyin，需安装 pypinyin），或单元格位置（position）。")
@reports_errors
def import_(workbook: str, output: str, sheets: tuple[str, ...], id_style: str) -> None:
    """从普通的 Excel 表生成表式初稿。WORKBOOK 为 .xlsx 文件；识别标题、表头、字段行、表格、填报单元格、公式、类型和打印设置。
    每处推测都在 YAML 中以 guessed 注释标出，未能识别的列出其工作表和单元格；工作簿无法读取时退出码为 2。"""

    from pathlib import Path

    from ..files import atomic_path
    from ..write.importer import import_form

    result = import_form(workbook, list(sheets) or None, id_style)
    with atomic_path(Path(output)) as tmp:
        tmp.write_text(result.text, encoding="utf-8")
    click.echo(f"已写出 {output}：{result.guesses} 处推测（# guessed），{len(result.problems)} 处未能识别")
    for problem in result.problems:
        click.echo(f"  {problem}")
    click.echo(f"下一步：按 docs/forms.md 的复核清单检查，再运行 xlkit spec check {output}")
