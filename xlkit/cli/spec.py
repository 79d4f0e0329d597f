"""`xlkit spec`: tools for writing a form spec (check one, print the schema an editor validates it against)."""

from __future__ import annotations

import click

from .common import dumps, reports_errors
from .helptext import group


@group()
def spec() -> None:
    """Write and check form specs (YAML)."""


@spec.command(name="check")
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help='Machine-readable: {"specs": [{"path", "problems": [...]}]}.')
@reports_errors
def check(specs: tuple[str, ...], as_json: bool) -> None:
    """Everything the loader and a trial build find in each SPEC, each problem with the YAML line. Exit 1 when any
    spec has a problem."""
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
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file (default: standard output).")
@reports_errors
def schema(output: str | None) -> None:
    """The JSON Schema of the spec language, for a YAML editor (see docs/forms.md)."""
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
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The draft spec to write (YAML).")
@click.option("--sheets", "sheets", multiple=True, help="Import only these sheets (repeatable; default: every visible sheet).")
@click.option("--id-style", type=click.Choice(["pinyin", "position"]), default="pinyin", show_default=True,
              help="Field ids from the labels in pinyin (needs the pypinyin package) or from cell positions.")
@reports_errors
def import_(workbook: str, output: str, sheets: tuple[str, ...], id_style: str) -> None:
    """A first-draft spec from an ordinary Excel form (WORKBOOK, .xlsx): titles, headings, field rows, tables, inputs,
    formulas, types and print setup. Every guess is marked `# guessed:` in the YAML; what was not understood is listed
    with its sheet and cell. Exit 2 when the workbook cannot be read."""
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
