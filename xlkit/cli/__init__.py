"""The `xlkit` command: a thin click layer over the library."""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..errors import XlkitError
from ..form.forms import FORMS_ENV, forms_folders
from ..version import __version__
from .campaign import COMMANDS as CAMPAIGN_COMMANDS
from .common import CliError, bounds, constants_option, dumps, load, parse_constants, reports_errors, spec_option
from .helptext import VERSION_MESSAGE, VERSION_OPTION, group
from .review import review_sample
from .serve import serve
from .spec import spec
from .users import COMMANDS as OFFICER_COMMANDS


@group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xlkit", message=VERSION_MESSAGE, help=VERSION_OPTION)
@click.option("--forms", "forms", multiple=True, type=click.Path(exists=True),
              help=f"A folder (or spec file) of your own forms, known to every command; repeatable. Same as the {FORMS_ENV} "
                   "environment variable (folders separated by ':').")
def main(forms: tuple[str, ...]) -> None:
    """xlkit: build, fill, check and consolidate the 部门（单位）整体支出绩效自评表 and other form specs."""
    if forms:  # the environment carries it to the reader processes, and to a command that reads the registry
        os.environ[FORMS_ENV] = os.pathsep.join([*forms, *forms_folders()])


@main.command()
@click.argument("spec_path", required=False, type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Workbook to write (.xlsx).")
@click.option("--unit-code", help="Unit code, prefilled and locked.")
@click.option("--unit-name", help="Unit name, prefilled and locked.")
@click.option("--year", type=click.IntRange(2000, 2100), help="Year, prefilled and locked.")
@click.option("--parent-name", help="Parent department (主管部门), prefilled and locked.")
@click.option("--implementer", help="Project forms: the unit carrying the project out (实施单位), prefilled and locked; "
              "--unit-code/--unit-name then name the project.")
@click.option("--issuer", help="The bureau that issues the form, printed as 「…（制）」 (default: the spec's).")
@click.option("--param", "params", multiple=True, metavar="NAME=N",
              help="A row-count parameter of the spec (`xlkit fields` and the spec's parameters: list them); repeatable.")
@click.option("--item", "items", multiple=True, metavar="NAME=TEXT",
              help="Name one item of a parameter, in order (sets the count); repeat for each item.")
@click.option("--password", help="Protection password of sheets and structure (default: none).")
@constants_option
@reports_errors
def build(spec_path: str | None, output: str, unit_code: str | None, unit_name: str | None, year: int | None,
          parent_name: str | None, implementer: str | None, issuer: str | None, params: tuple[str, ...], items: tuple[str, ...],
          password: str | None, constants: tuple[str, ...]) -> None:
    """Build the form template (SPEC defaults to the built-in form)."""
    from ..write.build import build_template

    spec = load(spec_path)
    counts: dict[str, int] = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit():
            raise CliError(f"--param 应写作 NAME=N（N 为非负整数），实际为 {item!r}")
        counts[name.strip()] = int(value)
    names: dict[str, list[str]] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not text.strip():
            raise CliError(f"--item 应写作 NAME=TEXT（TEXT 不能为空），实际为 {item!r}")
        names.setdefault(name.strip(), []).append(text.strip())
    layout = build_template(output, spec, unit_code=unit_code, unit_name=unit_name, year=year, parent_name=parent_name,
                            issuer=issuer, counts=counts, names=names, password=password, implementer=implementer,
                            constants=parse_constants(constants))
    inputs = len(layout.inputs())
    click.echo(f"已生成 {output}：{spec.template.title} {spec.template.version}，"
               f"{len(layout.fields)} 个字段（填报 {inputs} 个，公式 {len(layout.fields) - inputs} 个），校验规则 {len(layout.rules)} 条")


@main.command()
@click.argument("source", required=False, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@spec_option
@reports_errors
def fields(source: str | None, as_json: bool, spec_path: str | None) -> None:
    """List every field of a spec or a generated WORKBOOK (default: the built-in form)."""
    from ..intake.fields import describe_fields, layout_for

    spec = load(spec_path) if spec_path else None
    rows = describe_fields(layout_for(source, spec))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    width = max(len(r["id"]) for r in rows)
    for r in rows:
        flag = "*" if r["required"] else " "
        click.echo(f"{r['id']:<{width}}  {r['sheet']}!{r['cell']:<5} {r['kind']:<7} {r['type']:<8} {flag} {r['label']}")
    click.echo(f"{len(rows)} 个字段；* 为必填")


@main.command()
@click.argument("workbook", type=click.Path(dir_okay=False))
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Filled workbook to write.")
@spec_option
@reports_errors
def fill(workbook: str, data: str, output: str, spec_path: str | None) -> None:
    """Fill a generated WORKBOOK with DATA (JSON or CSV `field,value`, keyed by field id)."""
    from ..write.fill import fill_workbook, load_fill_data

    spec = load(spec_path) if spec_path else None
    values = load_fill_data(data)
    fill_workbook(workbook, values, output, spec)
    click.echo(f"已生成 {output}：填入 {len(values)} 个值")


SEVERITY_LABEL = {"error": "错误", "warning": "警告"}
STATUS_LABEL = {"ok": "通过", "warning": "有警告", "error": "有错误"}
WARNINGS_SHOWN = 10  # per file; errors are always listed in full


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report.")
@click.option("--spec", "spec_paths", multiple=True, type=click.Path(), help="Spec file or folder of specs (older versions too); repeatable.")
@bounds
@reports_errors
def check(inputs: tuple[str, ...], as_json: bool, spec_paths: tuple[str, ...], jobs: int | None, timeout: float,
          memory_mb: int) -> None:
    """Check returned workbooks (files, or every file in folders); exit 1 if any has an error."""
    from ..bureau.consolidate import read_all
    from ..intake.discover import collect_files

    files = collect_files(list(inputs))
    if not files:
        raise CliError(f"在 {'、'.join(inputs)} 中没有找到任何文件")
    show_progress = not as_json and len(files) > 1 and sys.stderr.isatty()
    with click.progressbar(length=len(files), label="检查", file=sys.stderr, hidden=not show_progress) as bar:
        reports = read_all(files, spec_paths, jobs, timeout, memory_mb, progress=lambda: bar.update(1))
    if as_json:
        click.echo(dumps({"files": [r.to_dict() for r in reports]}))
    else:
        for report in reports:
            _echo_report(report)
    statuses = [r.status for r in reports]
    summary = (f"共检查 {len(reports)} 个文件：{statuses.count('ok')} 个通过，{statuses.count('warning')} 个有警告，"
               f"{statuses.count('error')} 个有错误")
    click.echo(summary, err=as_json)
    if "error" in statuses:
        sys.exit(1)


def _echo_report(report: Any) -> None:
    """One file: errors first and all of them, then warnings (the first few, and how many more)."""
    data = report.to_dict()
    who = f" [{data['unit_code']} {data['unit_name']}]" if data["unit_code"] or data["unit_name"] else ""
    errors = [i for i in report.issues if i.severity == "error"]
    warnings = [i for i in report.issues if i.severity == "warning"]
    counts = f"：{len(errors)} 个错误，{len(warnings)} 个警告" if report.issues else ""
    click.echo(f"{STATUS_LABEL[report.status]} {report.path}{who}{counts}")
    for issue in errors + warnings[:WARNINGS_SHOWN]:
        where = f"{issue.sheet}!{issue.cell}" if issue.sheet and issue.cell else issue.sheet or ""
        parts = [SEVERITY_LABEL[issue.severity], where, issue.field or "", f"[{issue.code}]", issue.told]
        click.echo("    " + " ".join(p for p in parts if p))
    if len(warnings) > WARNINGS_SHOWN:
        click.echo(f"    …… 另有 {len(warnings) - WARNINGS_SHOWN} 个警告（--json 可列出全部）")


@main.command(name="issues")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@spec_option
@reports_errors
def issue_types(as_json: bool, spec_path: str | None) -> None:
    """List every issue type a check can report: code, severity, message template."""
    from ..intake.catalogue import issue_types as catalogue_rows

    rows = catalogue_rows(load(spec_path))
    if as_json:
        click.echo(dumps(rows))
        return
    width = max(len(r["code"]) for r in rows)
    for r in rows:
        click.echo(f"{r['code']:<{width}}  {SEVERITY_LABEL[r['severity']]}  {r['summary']}")


@main.command()
@click.argument("spec_path", required=False, type=click.Path(dir_okay=False))
@click.option("--roster", "roster_path", required=True, type=click.Path(dir_okay=False), help="Roster of units (CSV or xlsx).")
@click.option("--year", required=True, type=click.IntRange(2000, 2100), help="Campaign year, prefilled and locked.")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Folder for the workbooks and manifest.csv.")
@click.option("--password", help="Protection password of sheets and structure.")
@click.option("--overwrite", is_flag=True, help="Replace existing files that differ (default: refuse).")
@click.option("--issuer", help="The bureau that issues the form, printed as 「…（制）」 (default: the spec's).")
@click.option("--prefill-from", "previous", type=click.Path(file_okay=False),
              help="Last year's campaign folder: each unit's 上年数 and last year's target texts are prefilled.")
@constants_option
@reports_errors
def distribute(spec_path: str | None, roster_path: str, year: int, output: str, password: str | None, overwrite: bool,
               issuer: str | None, previous: str | None, constants: tuple[str, ...]) -> None:
    """One personalised workbook per roster unit, named <code>_<name>.xlsx, plus manifest.csv."""
    from ..bureau.distribute import MANIFEST
    from ..bureau.distribute import distribute as run
    from ..bureau.roster import load_roster

    spec = load(spec_path)
    roster = load_roster(roster_path)
    units = roster.units
    last_year = {}
    if previous:
        from ..campaign.setup import previous_values

        last_year = previous_values(previous)
    with click.progressbar(length=len(units), label="生成", file=sys.stderr, hidden=not sys.stderr.isatty()) as bar:
        results = run(spec, roster, year, output, password, overwrite, progress=lambda _r: bar.update(1), issuer=issuer,
                      previous=last_year, constants=parse_constants(constants), notice=lambda text: click.echo(text, err=True))
    counts = {s: sum(1 for r in results if r.status == s) for s in ("created", "unchanged", "replaced", "refused")}
    for r in results:
        if r.status == "refused":
            click.echo(f"未生成 {r.path}：{r.reason}", err=True)
    click.echo(f"{len(results)} 个单位：新生成 {counts['created']}，未变 {counts['unchanged']}，"
               f"已替换 {counts['replaced']}，未生成 {counts['refused']}；清单 {Path(output) / MANIFEST}")
    if counts["refused"]:
        sys.exit(1)


@main.command()
@click.argument("inputs", nargs=-1, type=click.Path())
@click.option("--campaign", "campaign_dir", type=click.Path(file_okay=False),
              help="Consolidate each unit's current file in this campaign's ledger (instead of INPUTS).")
@click.option("--roster", "roster_path", type=click.Path(dir_okay=False), help="Roster: lists units that sent nothing, flags strangers.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Summary workbook to write.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Also write one row per unit with every field (UTF-8 BOM).")
@click.option("--year", type=click.IntRange(2000, 2100), help="Campaign year (default: the most common year of the files).")
@click.option("--strict", is_flag=True, help="Reject files with errors outright; a unit's earlier clean file then counts.")
@click.option("--include-errors", is_flag=True, help="Put units whose file has errors into the totals (default: listed apart).")
@click.option("--timezone", "zone", default="Asia/Shanghai", show_default=True, help="Local time of the 报送情况 sheet (IANA name).")
@click.option("--roll-up", is_flag=True, help="Inputs are summaries of the level below (节点汇总): take the units they carry.")
@click.option("--by-department", "department_dir", type=click.Path(file_okay=False),
              help="Also write one summary per 主管部门 into this folder; each is an input of the next level.")
@click.option("--letters", "letters_dir", type=click.Path(file_okay=False), help="Also write a 审核意见 letter for every unit with issues.")
@click.option("--contact", default="", help="The bureau's contact line printed on the letters.")
@click.option("--issuer", help="The bureau's name on the letters (default: the one the returns were distributed with, else the spec's).")
@click.option("--spec", "spec_paths", multiple=True, type=click.Path(), help="Spec file or folder (older versions too); repeatable.")
@bounds
@reports_errors
def consolidate(inputs: tuple[str, ...], campaign_dir: str | None, roster_path: str | None, output: str, csv_path: str | None, year: int | None,
                strict: bool, include_errors: bool, zone: str, roll_up: bool, department_dir: str | None, letters_dir: str | None, contact: str,
                issuer: str | None,
                spec_paths: tuple[str, ...], jobs: int | None, timeout: float, memory_mb: int) -> None:
    """Check every returned file and consolidate them into the bureau summary workbook."""
    from ..bureau.clock import bureau_zone
    from ..bureau.consolidate import consolidate as run
    from ..bureau.consolidate import entity, write_wide_csv
    from ..bureau.roster import load_roster
    from ..bureau.summary import write_summary
    from ..intake.discover import collect_files

    bureau_zone(zone)  # an unknown zone is a usage error before any file is read
    if campaign_dir:
        if inputs or roster_path or roll_up or spec_paths or year or strict:
            raise CliError("--campaign 从报送任务目录取文件、名单、年度和表式：与它同用时不要再给 INPUTS、--roster、"
                           "--year、--spec、--strict 或 --roll-up")
        from ..campaign.account import consolidate_campaign
        from ..campaign.checks import Bounds

        result, checked = consolidate_campaign(campaign_dir, Bounds(jobs, timeout, memory_mb), include_errors)
        paths = [Path(f.path) for f in result.files if f.path]
        click.echo(f"报送任务 {campaign_dir}：本次审核 {checked} 个文件，其余 {len(paths) - checked} 个沿用台账中的审核结果", err=True)
    else:
        if not inputs:
            raise CliError("没有给出要汇总的文件或文件夹：请给出 INPUTS，或用 --campaign DIR")
        roster = load_roster(roster_path) if roster_path else None
        paths = collect_files(list(inputs))
        if not paths:
            raise CliError(f"在 {'、'.join(inputs)} 中没有找到任何文件")
        with click.progressbar(length=len(paths), label="读取", file=sys.stderr, hidden=not sys.stderr.isatty()) as bar:
            result = run(list(inputs), roster, tuple(spec_paths), year, strict, jobs, timeout, progress=lambda: bar.update(1), paths=paths,
                         include_errors=include_errors, memory_mb=memory_mb, roll_up=roll_up)
    outputs: list[Callable[[], None]] = [lambda: write_summary(result, output, zone)]
    if csv_path:
        outputs.append(lambda: write_wide_csv(result, csv_path))
    gc.freeze()  # the units' figures live while the outputs are made: the collector need not walk them again and again
    failures = []
    try:
        for make in outputs:  # one after another: a CSV writer forked beside the summary copied 130 MiB of the units' pages
            try:
                make()
            except (OSError, XlkitError) as exc:  # the other output is still made
                failures.append(exc)
    finally:
        gc.unfreeze()
    if failures:
        raise failures[0]
    if department_dir:
        from ..bureau.consolidate import by_department
        from ..bureau.distribute import UNSAFE_FILENAME

        parts = by_department(result)
        for department, part in parts.items():
            write_summary(part, Path(department_dir) / (UNSAFE_FILENAME.sub("_", department) + ".xlsx"), zone)
        click.echo(f"部门汇总：{len(parts)} 份（{department_dir}）", err=True)
    if letters_dir:
        from ..bureau.letters import letters_to_pdf, write_letters

        letters = write_letters(result, letters_dir, contact, zone, issuer)
        pdfs = letters_to_pdf(letters)
        click.echo(f"审核意见：{len(letters)} 份（{letters_dir}）" + (f"，其中 {len(pdfs)} 份已另存为 PDF" if pdfs else ""), err=True)
    from ..bureau.status import tally

    n = tally(result)  # the counts of the 报送情况 sheet, one per row of its list
    errors_note = "计入汇总" if include_errors else "未计入汇总"
    aside = f"（另有 {n.refused_aside} 个文件未采用，其{entity(result.spec)}已有采用的文件）" if n.refused_aside else ""
    click.echo(f"{len(paths)} 个文件，{result.year or '?'} 年度：已接收 {n.accepted}，有警告 {n.warnings}，"
               f"有错误 {n.errors}（{errors_note}），已拒收 {n.rejected}{aside}，已被替代 {n.superseded}；"
               f"未报送 {n.missing} 个{entity(result.spec)}" + "".join(_other_forms_note(o) for o in result.others.values())
               + f"。汇总表：{output}" + (f"，CSV：{csv_path}" if csv_path else ""))
    if any(f.status in ("accepted-errors", "rejected") for f in result.all_files if not f.within):  # any file refused or wrong
        sys.exit(1)


def _other_forms_note(other: Any) -> str:
    inside = sum(1 for f in other.files if f.within)
    parts = [f"单独报送 {len(other.files) - inside} 份" if len(other.files) > inside else "", f"单位报表中的重点项目 {inside} 个" if inside else ""]
    return f"；{other.spec.template.title}：" + "，".join(p for p in parts if p)


@main.command()
@click.argument("directory", required=False, default="build/demo", type=click.Path(file_okay=False))
@reports_errors
def demo(directory: str) -> None:
    """Run the main job end to end on the bundled samples, writing into DIRECTORY."""
    from ..demo.run import run_demo

    run_demo(Path(directory), echo=click.echo)


for _command in [*CAMPAIGN_COMMANDS, *OFFICER_COMMANDS, serve, spec, review_sample]:
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
