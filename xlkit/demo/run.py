"""`xlkit demo`: the main job end to end on the bundled samples."""

from __future__ import annotations

import json
import os
import shutil
import time
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ..bureau.consolidate import by_department, consolidate, write_wide_csv
from ..bureau.distribute import distribute
from ..bureau.letters import letters_to_pdf, write_letters
from ..bureau.roster import load_roster
from ..bureau.summary import write_summary
from ..files import atomic_path
from ..form.layout import FieldSlot
from ..form.load import builtin_spec_path, load_spec
from ..intake.identify import open_template_workbook
from ..write.build import build_template
from ..write.fill import fill_workbook
from .campaign import run_campaign_demo
from .sample_data import generate_project_data, generate_unit_data, seed_unit_data

YEAR = 2019
ISSUER = "岳阳市财政局"  # the bureau of the seed form
CONTACT = "联系人：预算绩效管理科（示例）  电话：0730-0000000（示例）"
SEED_UNIT = "430600301"
SEED_PROJECT = "430600301-01"
PROJECT_SPEC = "project_self_eval.yaml"  # beside the built-in form
TARGET_SPEC = "project_target.yaml"  # the third bundled form, written in YAML alone


def samples_path() -> Path:
    """The bundled samples: `samples/` of the source tree, shipped as package data `xlkit.samples`."""
    package = Path(__file__).resolve().parents[1]
    source_tree = package.parent / "samples"
    return source_tree if (source_tree / "roster.csv").exists() else package / "samples"


def run_demo(directory: Path, echo: Callable[[str], None] = print) -> dict[str, Path]:
    """Build, distribute, fill (the seed unit with the seed; others generated; two broken, one missing), consolidate."""
    samples = samples_path()
    spec = load_spec()
    roster = load_roster(samples / "roster.csv")
    seed = json.loads((samples / "seed_2019.json").read_text(encoding="utf-8"))
    seed_project = json.loads((samples / "seed_project_2019.json").read_text(encoding="utf-8"))
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    template = directory / "template.xlsx"
    build_template(template, spec, issuer=ISSUER)
    echo(f"1. 模板：{template}")
    sent = directory / "distributed"
    distributed = distribute(spec, roster.units, YEAR, sent, issuer=ISSUER)
    echo(f"2. 下发：{len(distributed)} 个工作簿，在 {sent}（清单 manifest.csv）")
    returned = directory / "returned"
    returned.mkdir()
    units = roster.units
    missing, html_unit, overwriting_unit, twice_unit, scan_unit = units[-1], units[-2], units[4], units[2], units[6]
    for number, item in enumerate(distributed):
        unit = item.unit
        if unit is missing:
            continue  # this unit never answers
        target = returned / item.path.name
        if unit is html_unit:  # an export from a web system, renamed to .xlsx
            target.write_text("<!DOCTYPE html><html><body>导出失败，请重试</body></html>", encoding="utf-8")
            continue
        layout = open_template_workbook(item.path, spec).layout
        data = seed_unit_data(layout, seed, seed_project, SEED_PROJECT) if unit.code == SEED_UNIT \
            else generate_unit_data(layout, unit.code)
        if unit is twice_unit:  # first sends a version with a wrong score, then the corrected one
            early = returned / item.path.name.replace(".xlsx", "（初稿）.xlsx")
            fill_workbook(item.path, {**data, "score": 55}, early, spec)
            _age(early, hours=2)
        fill_workbook(item.path, data, target, spec)
        _age(target, hours=1 - number / 100)
        if unit is overwriting_unit:
            _type_over_total(target, layout.fields["expense.all.total"])
        if unit is scan_unit:  # the signed paper, scanned, dropped into the same folder
            (returned / item.path.name.replace(".xlsx", "_签字扫描件.pdf")).write_bytes(b"%PDF-1.4\n% scanned pages\n")
    projects = _project_returns(samples, directory / "projects_distributed", returned)
    echo(f"   项目表：按 samples/projects.csv 下发 {len(projects)} 份项目支出绩效自评表，随各单位的文件一起报回"
         f"（其中有种子样表的 数字城管信息采集服务项目）")
    echo(f"3. 报回：{len(list(returned.iterdir()))} 个文件，在 {returned}"
         f"（{overwriting_unit.name} 改写了一个合计；{html_unit.name} 交来一个网页；"
         f"{twice_unit.name} 报了两次；{scan_unit.name} 附了 PDF 扫描件；{missing.name} 未报送）")
    result = consolidate([returned], roster, year=YEAR)
    summary = directory / "summary.xlsx"
    wide = directory / "summary.csv"
    write_summary(result, summary)
    write_wide_csv(result, wide)
    letters = write_letters(result, directory / "letters", contact=CONTACT, issuer=ISSUER)
    pdfs = letters_to_pdf(letters)
    echo(f"4. 汇总：{summary} 和 {wide}；{len(letters)} 份审核意见书，在 {directory / 'letters'}"
         + (f"（另有 {len(pdfs)} 份 PDF）" if pdfs else ""))
    departments = directory / "departments"
    for department, part in by_department(result).items():
        write_summary(part, departments / f"{department}.xlsx")
    upper = consolidate([departments], roster, year=YEAR, roll_up=True)
    echo(f"   逐级汇总：{len(list(departments.glob('*.xlsx')))} 份主管部门汇总表，在 {departments}，再汇总一次："
         f"支出合计 {upper.frame['expense.all.total'].sum():.2f} = 各单位文件的 {result.frame['expense.all.total'].sum():.2f}")
    for status in result.all_files:
        name = Path(status.path).name if status.path else "—"
        echo(f"   {status.label:<10} {status.unit_code} {status.unit_name}  {name}  {status.reason}")
    for form in result.others.values():
        frame = form.frame
        echo(f"   项目汇总：{len(frame)} 个项目；执行率低于 80%：{'、'.join(frame[frame['funds.total.rate'] < 0.8]['unit_name']) or '无'}；"
             f"低于 80 分：{'、'.join(frame[frame['total_score'] < 80]['unit_name']) or '无'}")
    seed_row = result.frame[result.frame.unit_code == SEED_UNIT].iloc[0]
    echo(f"   种子单位：收入合计 {seed_row['income.all.total']}，支出合计 {seed_row['expense.all.total']}，"
         f"当年结余 {seed_row['expense.all.balance_year']}，累计结余 {seed_row['expense.all.balance_cum']}，"
         f"三公经费 {seed_row['sangong.all.total']}，评价等次 {seed_row['grade']}")
    targets = _target_declarations(samples, directory / "targets", echo)
    _import_step(directory / "imported", echo)
    campaign = run_campaign_demo(directory / "campaign", samples, YEAR, ISSUER, CONTACT, SEED_UNIT, SEED_PROJECT, echo)
    return {"template": template, "distributed": sent, "returned": returned, "summary": summary, "csv": wide,
            "letters": directory / "letters", "targets": targets, **campaign}


def _import_step(directory: Path, echo: Callable[[str], None]) -> None:
    """`xlkit spec import`: a form workbook (here the third form's, read like any bureau's) as a draft spec, built again."""
    from ..write.importer import import_form

    directory.mkdir(parents=True)
    form = directory / "申报表.xlsx"
    build_template(form, load_spec(builtin_spec_path().parent / TARGET_SPEC))
    result = import_form(form)
    draft = directory / "draft.yaml"
    draft.write_text(result.text, encoding="utf-8")
    layout = build_template(directory / "rebuilt.xlsx", load_spec(draft))
    echo(f"   导入表式：{form.name} -> {draft}（推测 {result.guesses} 处，未能理解 {len(result.problems)} 处），"
         f"再生成：{len(layout.fields)} 个字段，在 {directory / 'rebuilt.xlsx'}")


def _target_declarations(samples: Path, directory: Path, echo: Callable[[str], None]) -> Path:
    """The third bundled form (项目支出绩效目标申报表, YAML alone): distributed to samples/projects.csv, the seed project
    declared from samples/seed_project_target.json and the others in proportion to their budgets, then consolidated."""
    spec = load_spec(builtin_spec_path().parent / TARGET_SPEC)
    seed = json.loads((samples / "seed_project_target.json").read_text(encoding="utf-8"))
    returned = directory / "returned"
    returned.mkdir(parents=True)
    roster = load_roster(samples / "projects.csv")
    for item in distribute(spec, roster.units, YEAR, directory / "distributed", issuer=ISSUER):
        budget = item.unit.budget or 100
        data = seed if item.unit.code == SEED_PROJECT else {
            **seed, "funds.total.mid": budget * 3, "funds.fiscal.mid": budget * 3, "funds.total.year": budget, "funds.fiscal.year": budget,
            "indicators.cost1.mid": f"≤{budget * 3:g}万元", "indicators.cost1.year": f"≤{budget:g}万元"}
        fill_workbook(item.path, data, returned / item.path.name, spec)
    result = consolidate([returned], roster, year=YEAR, spec_paths=(str(builtin_spec_path().parent / TARGET_SPEC),))
    summary = directory / "summary.xlsx"
    write_summary(result, summary)
    echo(f"   第三张表：{spec.template.title}（templates/{TARGET_SPEC}，只用 YAML 写成），{len(roster.units)} 个项目："
         f"{summary}；年度资金总额 {result.frame['funds.total.year'].sum():.2f} 万元，"
         f"申报数量指标 {int(result.frame['check.quantity_named.left'].sum())} 个")
    return summary


def _project_returns(samples: Path, sent: Path, returned: Path) -> list[Path]:
    """The project campaign's workbooks, one per project of samples/projects.csv, filled: the seed project with the
    seed, the others generated (the third misses its 效益 targets, the fourth spends 72 % of
    its budget)."""
    spec = load_spec(builtin_spec_path().parent / PROJECT_SPEC)
    seed = json.loads((samples / "seed_project_2019.json").read_text(encoding="utf-8"))
    out = []
    for number, item in enumerate(distribute(spec, load_roster(samples / "projects.csv").units, YEAR, sent, issuer=ISSUER)):
        unit = item.unit
        layout = open_template_workbook(item.path, spec).layout
        data = seed if unit.code == SEED_PROJECT else generate_project_data(layout, seed, unit.code, unit.budget or 100, weak=number == 2,
                                                                             rate=0.72 if number == 3 else None)
        fill_workbook(item.path, data, returned / item.path.name, spec)
        out.append(returned / item.path.name)
    return out


def _age(path: Path, hours: float) -> None:
    """Set the file's saved time (docProps/core.xml) as if saved `hours` ago, so superseding has an order."""
    stamp = (datetime.now(timezone.utc) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(path) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    core = parts["docProps/core.xml"].decode()
    start = core.index("<dcterms:modified")
    end = core.index("</dcterms:modified>")
    core = core[:start] + f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}' + core[end:]
    parts["docProps/core.xml"] = core.encode()
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    stamp_time = time.time() - hours * 3600
    os.utime(path, (stamp_time, stamp_time))


def _type_over_total(path: Path, slot: FieldSlot) -> None:
    """What a clerk does after removing the protection: type a number over a formula (saved by openpyxl)."""
    import openpyxl

    book = openpyxl.load_workbook(path)
    sheet = book[slot.sheet]
    sheet.protection.sheet = False
    sheet[slot.address] = 999.99
    book.save(path)
