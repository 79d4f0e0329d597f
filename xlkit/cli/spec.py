"""`xlkit spec`: tools for writing a form spec (check one, print the schema an editor validates it against)."""

from __future__ import annotations

import click

from .common import dumps, reports_errors


@click.group()
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
