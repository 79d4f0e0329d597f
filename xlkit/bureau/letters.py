"""审核意见 letters: what the bureau sends back to each unit whose return has problems, printable on A4.

One workbook per unit, in Chinese: the unit, the file received and when, then every problem with its
工作表 / 单元格 / 栏目 / 应为 / 实为 / 如何修改, errors before warnings. A unit with very many problems gets
them grouped by kind (one row per kind, with where it occurs), so a letter stays one or two pages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import xlsxwriter

from ..files import atomic_path
from ..intake.catalogue import CATALOGUE, COMPARISON, RuleSides, advice, rule_sides
from ..intake.report import Issue
from ..write.build import FONT
from .clock import DEFAULT_ZONE, bureau_zone, local_time
from .consolidate import Consolidation
from .distribute import UNSAFE_FILENAME
from .sheets import BODY_SIZE, row_height
from .status import UnitStatus, file_name, file_state, unit_statuses

SEVERITY = {"error": "错误", "warning": "警告"}
# widths fit A4 portrait between 0.5-inch margins (sheets.page_units): 10 pt text stays at least 9 pt on paper
COLUMNS = [("序号", 4), ("级别", 4), ("工作表", 8), ("单元格", 6), ("栏目", 11), ("应为", 9), ("实为", 9), ("如何修改", 22)]
MAX_ROWS = 40  # more problems than this are grouped by kind


def letter_name(unit: UnitStatus) -> str:
    return UNSAFE_FILENAME.sub("_", f"{unit.unit_code or '未识别'}_{unit.unit_name}_审核意见") + ".xlsx"


def write_letters(consolidation: Consolidation, folder: str | Path, contact: str = "", zone: str = DEFAULT_ZONE,
                  issuer: str | None = None) -> list[Path]:
    """A letter for every unit whose counted file, or every file it sent, has issues; returns the letters written.
    Signed by `issuer`, else by the bureau the returns were distributed by (the most common), else the spec's."""
    folder = Path(folder)
    issued = Counter(f.issuer for f in consolidation.all_files if f.issuer).most_common(1)
    issuer = issuer or (issued[0][0] if issued else consolidation.spec.template.issuer)
    sides = {code: side for part in [consolidation, *consolidation.others.values()] for code, side in rule_sides(part.spec).items()}
    folder.mkdir(parents=True, exist_ok=True)
    local = bureau_zone(zone)
    written = []
    for unit in [u for part in [consolidation, *consolidation.others.values()] for u in unit_statuses(part)]:
        shown = [unit.counted] if unit.counted is not None else unit.files
        issues = [i for status in shown if status is not None for i in status.issues]
        if not issues:
            continue
        path = folder / letter_name(unit)
        write_letter(path, f"{consolidation.year}年度{consolidation.spec.template.title}", unit, issues, (issuer, contact), local,
                     sides=sides)
        written.append(path)
    return written


def write_letter(path: Path, title: str, unit: UnitStatus, issues: list[Issue], sender: tuple[str, str], zone: tzinfo,
                 reason: str = "", sides: dict[str, RuleSides] | None = None) -> None:
    """One unit's letter, written atomically; `reason` is the bureau's 退回 reason, printed above the problems;
    `sides`: what each rule of the form compares (`rule_sides`), for 应为 and 如何修改."""
    with atomic_path(path) as tmp:
        _write_letter(tmp, title, unit, issues, sender, zone, reason, sides or {})


def expected_text(issue: Issue, sides: dict[str, RuleSides]) -> str:
    """应为 as people read it: a rule's comparison with its number (不超过 350), else the value."""
    side = sides.get(issue.code)
    shown = shown_text(issue.expected)
    return f"{COMPARISON[side.op]} {shown}" if side is not None and shown else shown


def how_to_fix(issue: Issue, sides: dict[str, RuleSides]) -> str:
    """如何修改: the problem, then what to do about it (the catalogue's advice for its code)."""
    todo = advice(issue.code, issue.severity, issue.label, issue.expected, sides.get(issue.code), issue.field)
    return f"{issue.told}\n修改：{todo}" if todo else issue.told


def _rows(issues: list[Issue], sides: dict[str, RuleSides]) -> list[list[Any]]:
    """Errors first; each problem a row, or, when there are too many, each kind of problem a row."""
    ordered = sorted(issues, key=lambda i: i.severity != "error")
    if len(ordered) <= MAX_ROWS:
        return [[SEVERITY[i.severity], i.sheet or "", i.cell or "", i.label or "", expected_text(i, sides), shown_text(i.found),
                 how_to_fix(i, sides)] for i in ordered]
    groups: dict[tuple[str, str], list[Issue]] = {}
    for issue in ordered:
        groups.setdefault((issue.severity, issue.code), []).append(issue)
    rows = []
    for (severity, code), members in groups.items():
        places = [f"{i.sheet}!{i.cell}" for i in members if i.sheet and i.cell]
        where = "、".join(places[:6]) + (f" 等 {len(places)} 处" if len(places) > 6 else "")
        summary = CATALOGUE[code].summary if code in CATALOGUE else members[0].message
        todo = advice(code, severity, "", None, sides.get(code)) if code != "required-missing" else "请在以上单元格逐一填写。"
        rows.append([SEVERITY[severity], "", where, f"共 {len(members)} 处", "", "", f"{summary} 例：{members[0].message}"
                     + (f"\n修改：{todo}" if todo else "")])
    return rows


def shown_text(value: Any) -> str:
    """A found or expected value as people read it: nothing for none, whole numbers without .0."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _write_letter(path: Path, title: str, unit: UnitStatus, issues: list[Issue], sender: tuple[str, str], zone: tzinfo,
                  reason: str, sides: dict[str, RuleSides]) -> None:
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False})
    base = {"font_name": FONT, "font_size": BODY_SIZE, "valign": "vcenter", "text_wrap": True}
    title_format = book.add_format({**base, "bold": True, "font_size": 14, "align": "center"})
    text = book.add_format(base)
    header = book.add_format({**base, "bold": True, "border": 1, "align": "center", "bg_color": "#DDEBF7"})
    cell = book.add_format({**base, "border": 1})
    ws = book.add_worksheet("审核意见")
    width = len(COLUMNS) - 1
    ws.merge_range(0, 0, 0, width, f"{title}审核意见", title_format)
    ws.set_row(0, 28)
    errors = sum(1 for i in issues if i.severity == "error")
    several = len(unit.files) > 1  # then each says whether it is the one that counts
    files = "；".join(f"{file_name(f)}（保存于 {local_time(f.saved_at, zone) or '未知'}{'，' + file_state(f) if several else ''}）"
                     for f in sorted(unit.files, key=lambda f: (f.saved_at, f.path)))
    verdict = (f"发现 {errors} 个错误，请修改后重新报送。" if errors else "未发现错误；以下警告请核实，如属实请在报送时附说明。")
    if reason:
        verdict = f"退回原因：{reason}。请按以下意见修改后重新报送。"
    lines = [f"{unit.unit_name}（单位编码 {unit.unit_code}）：", f"收到的文件：{files}", f"审核结果：{unit.status}。{verdict}"]
    total_width = sum(w for _label, w in COLUMNS)
    row = 1
    for line in lines:
        ws.merge_range(row, 0, row, width, line, text)
        ws.set_row(row, row_height([(line, total_width)]))
        row += 1
    row += 1
    for c, (label, column_width) in enumerate(COLUMNS):
        ws.write_string(row, c, label, header)
        ws.set_column(c, c, column_width)
    header_row = row
    for number, values in enumerate(_rows(issues, sides), start=1):
        row += 1
        ws.write_number(row, 0, number, cell)
        for c, value in enumerate(values, start=1):
            ws.write_string(row, c, value, cell)
        ws.set_row(row, row_height((v, COLUMNS[c][1]) for c, v in enumerate(values, start=1)))
    row += 2
    issuer, contact = sender
    footer = [f"{issuer}　{datetime.now(zone):%Y年%m月%d日}"] + ([contact] if contact else [])
    for line in footer:
        ws.merge_range(row, 0, row, width, line, text)
        row += 1
    ws.set_paper(9)
    ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.5, right=0.5, top=0.7, bottom=0.7)
    ws.repeat_rows(header_row)
    ws.set_footer("&C第 &P 页，共 &N 页")
    book.set_properties({"title": f"审核意见 {unit.unit_name}", "author": "xlkit"})
    book.close()


def letters_to_pdf(letters: Sequence[Path], timeout: float = 600) -> list[Path]:
    """PDFs beside the letters, printed by LibreOffice when it is installed; none (an empty list) when it is not."""
    soffice = shutil.which("soffice")
    if not soffice or not letters:
        return []
    with tempfile.TemporaryDirectory(prefix="xlkit-lo-") as profile:
        folder = letters[0].parent
        subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{os.path.abspath(profile)}", "--convert-to", "pdf",
                        "--outdir", str(folder), *map(str, letters)], capture_output=True, timeout=timeout, check=False)
    return [p for p in (letter.with_suffix(".pdf") for letter in letters) if p.exists()]
