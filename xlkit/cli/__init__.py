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
              help=f"自有表式所在的文件夹（或单个表式文件），各命令都能识别；可重复。与环境变量 {FORMS_ENV} 相同"
                   "（多个文件夹以 ':' 分隔）。")
def main(forms: tuple[str, ...]) -> None:
    """xlkit：按表式生成受保护的 Excel 模板，下发各单位，收件、审核、汇总；内置表式为部门（单位）整体支出绩效自评表。"""
    if forms:  # the environment carries it to the reader processes, and to a command that reads the registry
        os.environ[FORMS_ENV] = os.pathsep.join([*forms, *forms_folders()])


@main.command()
@click.argument("spec_path", required=False, metavar="[SPEC]", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="要写出的模板（.xlsx）。")
@click.option("--unit-code", help="单位编码，预填并锁定。")
@click.option("--unit-name", help="单位名称，预填并锁定。")
@click.option("--year", type=click.IntRange(2000, 2100), metavar="YEAR", help="年度，预填并锁定。")
@click.option("--parent-name", help="主管部门，预填并锁定。")
@click.option("--implementer", help="项目表：实施单位，预填并锁定；此时 --unit-code/--unit-name 填项目的编码和名称。")
@click.option("--issuer", help="制表的财政部门，印作「…（制）」（默认：表式中的）。")
@click.option("--param", "params", multiple=True, metavar="NAME=N",
              help="表式的行数参数，如 sub_units=3（见表式的 parameters）；可重复。")
@click.option("--item", "items", multiple=True, metavar="NAME=TEXT",
              help="按顺序为某个参数的一项命名（项数随之确定）；每项写一次。")
@click.option("--password", help="工作表和工作簿结构的保护密码（默认：不设）。")
@constants_option
@reports_errors
def build(spec_path: str | None, output: str, unit_code: str | None, unit_name: str | None, year: int | None,
          parent_name: str | None, implementer: str | None, issuer: str | None, params: tuple[str, ...], items: tuple[str, ...],
          password: str | None, constants: tuple[str, ...]) -> None:
    """生成表式的空白模板。SPEC 为表式文件，不给则用内置表式。"""
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
@click.argument("source", required=False, metavar="[WORKBOOK]", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（供程序读取）。")
@spec_option
@reports_errors
def fields(source: str | None, as_json: bool, spec_path: str | None) -> None:
    """列出表式或模板的全部字段。WORKBOOK 为已生成的工作簿；不给则列出 --spec 给出的表式，或内置表式。"""
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
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="要写出的已填工作簿。")
@spec_option
@reports_errors
def fill(workbook: str, data: str, output: str, spec_path: str | None) -> None:
    """把数据填入已生成的工作簿。DATA 为 JSON，或 field,value 两列的 CSV，按字段 id 对应。"""
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
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 格式的审核结果。")
@click.option("--spec", "spec_paths", multiple=True, type=click.Path(), help="表式文件或表式文件夹（可含旧版本）；可重复。")
@bounds
@reports_errors
def check(inputs: tuple[str, ...], as_json: bool, spec_paths: tuple[str, ...], jobs: int | None, timeout: float,
          memory_mb: int) -> None:
    """审核报回的工作簿。INPUTS 为文件或文件夹（其中全部文件）；有文件出错时退出码为 1。"""
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
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@spec_option
@reports_errors
def issue_types(as_json: bool, spec_path: str | None) -> None:
    """列出审核可能报告的全部问题类型。每类一行：代码、级别、提示模板。"""
    from ..intake.catalogue import issue_types as catalogue_rows

    rows = catalogue_rows(load(spec_path))
    if as_json:
        click.echo(dumps(rows))
        return
    width = max(len(r["code"]) for r in rows)
    for r in rows:
        click.echo(f"{r['code']:<{width}}  {SEVERITY_LABEL[r['severity']]}  {r['summary']}")


@main.command()
@click.argument("spec_path", required=False, metavar="[SPEC]", type=click.Path(dir_okay=False))
@click.option("--roster", "roster_path", required=True, type=click.Path(dir_okay=False), help="单位名单（CSV 或 xlsx）。")
@click.option("--year", required=True, type=click.IntRange(2000, 2100), metavar="YEAR", help="报送年度，预填并锁定。")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="存放工作簿和 manifest.csv 的文件夹。")
@click.option("--password", help="工作表和工作簿结构的保护密码。")
@click.option("--overwrite", is_flag=True, help="替换已有而内容不同的文件（默认：不替换）。")
@click.option("--issuer", help="制表的财政部门，印作「…（制）」（默认：表式中的）。")
@click.option("--prefill-from", "previous", type=click.Path(file_okay=False),
              help="上年的报送任务目录：预填各单位的上年数和上年的目标文字。")
@constants_option
@reports_errors
def distribute(spec_path: str | None, roster_path: str, year: int, output: str, password: str | None, overwrite: bool,
               issuer: str | None, previous: str | None, constants: tuple[str, ...]) -> None:
    """按名单为每个单位生成一份预填的工作簿。文件名为 <单位编码>_<单位名称>.xlsx，另写清单 manifest.csv。SPEC 为表式文件，
    不给则用内置表式。"""
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
              help="汇总该报送任务台账中各单位的当前文件（代替 INPUTS）。")
@click.option("--roster", "roster_path", type=click.Path(dir_okay=False), help="单位名单：列出未报送的单位，标出名单外的单位。")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="要写出的汇总表（.xlsx）。")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="另写一份 CSV：每个单位一行，含全部字段（UTF-8 BOM）。")
@click.option("--year", type=click.IntRange(2000, 2100), metavar="YEAR", help="报送年度（默认：文件中最常见的年度）。")
@click.option("--strict", is_flag=True, help="有错误的文件直接拒收；该单位此前无错误的文件则照常采用。")
@click.option("--include-errors", is_flag=True, help="有错误的单位也计入合计（默认：单列，不计入）。")
@click.option("--timezone", "zone", default="Asia/Shanghai", show_default=True, metavar="ZONE", help="报送情况表所用的本地时间（IANA 时区名）。")
@click.option("--roll-up", is_flag=True, help="输入为下一级的汇总表（节点汇总）：采用其中所含的单位。")
@click.option("--by-department", "department_dir", type=click.Path(file_okay=False),
              help="另按主管部门各写一份汇总表到此文件夹；每份可作上一级汇总的输入。")
@click.option("--letters", "letters_dir", type=click.Path(file_okay=False), help="另为每个有问题的单位写一份审核意见，存入此文件夹。")
@click.option("--contact", default="", help="审核意见上印的财政部门联系方式。")
@click.option("--issuer", help="审核意见上的财政部门名称（默认：下发时所用的，否则为表式中的）。")
@click.option("--spec", "spec_paths", multiple=True, type=click.Path(), help="表式文件或文件夹（可含旧版本）；可重复。")
@bounds
@reports_errors
def consolidate(inputs: tuple[str, ...], campaign_dir: str | None, roster_path: str | None, output: str, csv_path: str | None, year: int | None,
                strict: bool, include_errors: bool, zone: str, roll_up: bool, department_dir: str | None, letters_dir: str | None, contact: str,
                issuer: str | None,
                spec_paths: tuple[str, ...], jobs: int | None, timeout: float, memory_mb: int) -> None:
    """审核报回的全部文件，汇总成财政部门的汇总表。INPUTS 为文件或文件夹，或用 --campaign 汇总报送任务的台账。"""
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
    """用自带的样例把整个流程演示一遍。结果写入 DIRECTORY（默认 build/demo）。"""

    from ..demo.run import run_demo

    run_demo(Path(directory), echo=click.echo)


for _command in [*CAMPAIGN_COMMANDS, *OFFICER_COMMANDS, serve, spec, review_sample]:
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
