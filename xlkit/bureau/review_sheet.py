"""审核提示: the signals of the 审核 across units as a sheet of the summary, with what was compared and how below."""

from __future__ import annotations

from typing import Any

from .consolidate import Consolidation, entity
from .review import KINDS, ReviewResult, review
from .sheets import Formats, print_setup, row_height, write_table

SHEET = "审核提示"
# widths sum to one A4 landscape page at full size (as the other lists); 提示代码 is hidden (for machines)
COLUMNS = [("单位编码", 9.0), ("单位名称", 14.0), ("主管部门", 12.0), ("提示", 10.0), ("栏目", 8.0), ("数据", 37.0), ("关注原因", 20.0),
           ("风险分", 5.0), ("提示代码", 8.0)]


def review_rows(result: ReviewResult) -> list[list[Any]]:
    """One row per signal; 风险分 is the unit's weighted count of all its signals."""
    risk = result.risk()
    return [[s.unit_code, s.unit_name, s.department, KINDS[s.kind], s.subject, s.figures, s.why, risk[s.unit_code], s.kind]
            for s in result.signals]


def review_sheet(book: Any, fmt: Formats, consolidation: Consolidation, result: ReviewResult | None = None) -> None:
    """The sheet, when the spec has a review section; the notes under the list say what each signal compares."""
    if consolidation.spec.review is None:
        return
    result = result if result is not None else review(consolidation)
    words = entity(consolidation.spec)
    headers = [(label.replace("单位", words), width) for label, width in COLUMNS]
    rows = review_rows(result)
    write_table(book, fmt, SHEET, f"审核提示（{consolidation.year}年度）", headers, rows, hidden=1)
    ws = book.get_worksheet_by_name(SHEET)
    notes = ([] if rows else ["未发现需要提示的情况。"]) + ["说明：以下为各项提示的比较口径和阈值（在表式的 review 部分设定）。", *result.notes]
    width = sum(w for _label, w in COLUMNS[:-1])
    row = max(len(rows) + 1, 2) + 2
    for k, note in enumerate(notes):
        ws.merge_range(row + k, 0, row + k, len(COLUMNS) - 2, note, fmt["note_wrapped"])
        ws.set_row(row + k, row_height([(note, width)]))
    print_setup(ws, SHEET, (row + len(notes) - 1, len(COLUMNS) - 2), repeat=1)
