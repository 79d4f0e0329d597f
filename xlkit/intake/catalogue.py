"""The catalogue of issue types: stable codes, severities, messages a clerk understands.

Messages are templates filled from the issue's location and values; they are
in Chinese because the units' clerks read them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..form.spec import Spec
from ..kinds import IssueScope, Severity


@dataclass(frozen=True)
class IssueType:
    code: str
    severity: Severity
    scope: IssueScope  # the whole file, or one field
    template: str
    summary: str  # one line in English, for `xlkit issues`


CATALOGUE: dict[str, IssueType] = {t.code: t for t in [
    # --- the file as a whole
    IssueType("file-unreadable", "error", "file", "文件无法读取：{detail}", "The file cannot be opened at all."),
    IssueType("file-empty", "error", "file", "文件为空（0字节），请重新导出后报送。", "Empty file."),
    IssueType("file-too-large", "error", "file", "文件过大（{detail}），不是本表的报送文件。", "File far larger than any filled form."),
    IssueType("not-a-zip", "error", "file", "文件不是Excel工作簿（内容为{detail}），可能是改了扩展名的其他文件；请在 Excel/WPS 中另存为 .xlsx 后重新报送。",
              "Not a zip package: HTML, text or other content renamed to .xlsx."),
    IssueType("legacy-binary", "error", "file", "文件是旧版 .xls 或 WPS .et 格式，请另存为 .xlsx 后报送。",
              "An OLE/CFB binary workbook (.xls, WPS .et) renamed to .xlsx."),
    IssueType("other-format", "error", "file", "文件是{detail}，不是 .xlsx 工作簿；请用下发的模板填报，在 Excel/WPS 中另存为 .xlsx 后重新报送。",
              "A PDF, Word document, ODS spreadsheet or other known non-xlsx format."),
    IssueType("strict-open-xml", "error", "file", "文件保存为“Strict Open XML 电子表格”格式，本系统不读取该格式；请在 Excel 中另存为“Excel 工作簿(*.xlsx)”后重新报送。",
              "Saved as Strict Open XML (different namespaces); the reason is given, the file is not read."),
    IssueType("content-damaged", "error", "file", "文件内部内容异常，无法按本表读取（{detail}）；请用 Excel/WPS 打开后重新保存，再报送。",
              "A part holds data no spreadsheet writes (garbage attributes and the like)."),
    IssueType("xlsb-binary", "error", "file", "文件是 .xlsb 二进制工作簿，请另存为 .xlsx 后报送。", "A binary .xlsb workbook."),
    IssueType("encrypted", "error", "file", "文件设置了打开密码（已加密），请取消打开密码后重新报送。", "A password-encrypted workbook."),
    IssueType("corrupt-zip", "error", "file", "文件已损坏或不完整（{detail}），请重新导出后报送。", "A truncated or corrupt zip."),
    IssueType("no-workbook", "error", "file", "压缩包中没有Excel工作簿内容（{detail}）。", "A zip that holds no workbook."),
    IssueType("lock-file", "error", "file", "这是Office临时锁定文件（{detail}），不是报表本身。", "An Office lock file (~$…)."),
    IssueType("macro-enabled", "warning", "file", "文件含宏（.xlsm），已只读取数据，未运行任何宏。", "An .xlsm: data read, macros never run."),
    IssueType("zip-bomb", "error", "file", "文件解压后体积异常（{detail}），已拒绝读取。", "Declared or actual inflated size far beyond a form."),
    IssueType("part-too-large", "error", "file", "文件内部的工作表数据大小异常（{detail}），远超本表应有的大小，已拒绝读取。",
              "A part (a worksheet) far larger than the form's layout allows: bounded before parsing."),
    IssueType("too-many-entries", "error", "file", "文件内部条目过多（{detail}），已拒绝读取。", "Thousands of zip entries."),
    IssueType("duplicate-entry", "error", "file", "文件内部有重名条目（{detail}），内容不可信，已拒绝读取。",
              "Duplicate or case-colliding zip entry names."),
    IssueType("unsafe-entry-name", "error", "file", "文件内部条目名称不安全（{detail}），已拒绝读取。", "Zip entry names with .. or absolute paths."),
    IssueType("xml-dtd", "error", "file", "文件内部XML含DTD/实体声明（{detail}），已拒绝读取。", "XML with a DTD (billion laughs, XXE)."),
    IssueType("xml-malformed", "error", "file", "文件内部XML损坏（{detail}）。", "XML that does not parse."),
    IssueType("not-our-template", "error", "file", "不是本系统下发的报表模板（缺少模板标识），请使用下发的模板填报。",
              "No xlkit metadata: not a workbook we generated."),
    IssueType("other-template", "error", "file", "该文件是其他报表（{found}），不是{expected}。", "Made from another template."),
    IssueType("unknown-version", "error", "file", "模板版本 {found} 无法识别（当前为 {expected}），请使用最新下发的模板。",
              "A template version (fingerprint) for which no spec is available."),
    IssueType("metadata-damaged", "error", "file", "模板标识信息已损坏（{detail}）。", "The metadata sheet is unreadable."),
    IssueType("protection-removed", "warning", "file", "工作表“{sheet}”的保护已被取消。", "A form sheet is no longer protected."),
    IssueType("reader-crash", "error", "file", "读取文件时出错（{detail}），请重新导出后报送。", "The reader failed, crashed or ran out of time/memory."),
    # --- fields and cells
    IssueType("sheet-renamed", "warning", "field", "工作表“{expected}”被改名为“{sheet}”，已按新名称读取；请勿修改工作表名称。",
              "A form sheet was renamed; its fields are read where their defined names point."),
    IssueType("sheet-missing", "error", "field", "工作表“{sheet}”已被删除，其中 {detail} 个栏目无法读取。", "A form sheet is missing."),
    IssueType("name-missing", "error", "field", "栏目“{label}”的定义名称已被删除，按模板位置 {cell} 读取。",
              "The defined name of a field was deleted; read at the template's cell."),
    IssueType("field-moved", "warning", "field", "栏目“{label}”的位置由 {expected} 变为 {cell}（插入或删除了行列），已按新位置读取。",
              "A field is not where the template put it (rows or columns inserted)."),
    IssueType("identity-changed", "error", "field", "“{label}”被改为“{found}”，应为下发时的“{expected}”。", "Prefilled identity was edited."),
    IssueType("required-missing", "error", "field", "“{label}”为必填项，未填写。", "A required field is blank."),
    IssueType("number-as-text", "error", "field", "“{label}”中的“{found}”是文字形式的数字（看似 {expected}），表内合计不会计入它；请选中该单元格点“转换为数字”，或删除后重新输入数字。",
              "A number stored as text: the form's own totals skip it, so it must be retyped as a number."),
    IssueType("not-a-number", "error", "field", "“{label}”应填数字，实际为“{found}”。", "Text that is not a number in a number field."),
    IssueType("below-min", "error", "field", "“{label}”不能小于 {expected}，实际为 {found}。", "Below the type's minimum (negative amount)."),
    IssueType("above-max", "error", "field", "“{label}”不能大于 {expected}，实际为 {found}。", "Above the type's maximum (score over 100)."),
    IssueType("too-many-decimals", "error", "field", "“{label}”最多保留 {expected} 位小数，实际为 {found}。", "More decimals than allowed."),
    IssueType("not-integer", "error", "field", "“{label}”应为整数，实际为 {found}。", "A fractional headcount or year."),
    IssueType("too-long", "error", "field", "“{label}”不超过 {expected} 个字，实际 {found} 个字。", "Text over its length limit."),
    IssueType("bad-format", "error", "field", "“{label}”格式不正确：“{found}”。{detail}", "Text that does not match the pattern (phone)."),
    IssueType("not-in-list", "error", "field", "“{label}”应从下拉列表选择（{expected}），实际为“{found}”。", "A choice not in the list."),
    IssueType("not-a-date", "error", "field", "“{label}”应填日期（如 2019-12-31），实际为“{found}”。", "Not a date in a date field."),
    IssueType("date-as-text", "warning", "field", "“{label}”以文字形式填写日期“{found}”，已按 {expected} 读取。", "A date typed as text that reads one way only."),
    IssueType("not-a-boolean", "error", "field", "“{label}”应填 是/否，实际为“{found}”。", "Not a yes/no value in a boolean field."),
    IssueType("boolean-as-text", "warning", "field", "“{label}”以文字形式填写“{found}”，已按 {expected} 读取。", "A yes/no typed as text (是/否, TRUE/FALSE)."),
    IssueType("wrong-type", "error", "field", "“{label}”的内容类型不正确：{found}。", "A boolean or error value in an input."),
    IssueType("input-is-formula", "warning", "field", "“{label}”填的是公式 ={detail}，已按其结果 {found} 读取。",
              "An input cell holds a formula; its cached result is used."),
    IssueType("formula-overwritten", "error", "field", "“{label}”的公式被改动或覆盖：应为 {expected}，实际为 {found}。",
              "A formula cell's formula was changed or replaced by a constant."),
    IssueType("stale-value", "warning", "field", "“{label}”保存的计算结果 {found} 与重新计算的 {expected} 不一致（文件保存时未重新计算），以重新计算为准。",
              "The cached value differs from the recomputed one while the formula is intact."),
    IssueType("check-failed", "error", "field", "校验未通过：{detail}（本表数 {found}，比较数 {expected}）。",
              "A rule of the 校验 sheet fails; the code is check-<rule id> and the severity is the rule's."),
]}


def message(code: str, **values: Any) -> str:
    template = CATALOGUE[code].template
    shown = {k: ("" if v is None else _show(v)) for k, v in values.items()}
    for key in ("detail", "label", "found", "expected", "sheet", "cell"):
        shown.setdefault(key, "")
    return template.format(**shown)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:.10g}" if math.isfinite(value) else "非数值"
    return str(value)


def rule_code(rule_id: str) -> str:
    """The issue code of a spec rule (校验): `check-<rule id>`; rows of a `for:` rule share their rule's code."""
    return "check-" + rule_id.split(".")[0].replace("_", "-")


def issue_types(spec: Spec) -> list[dict[str, Any]]:
    """The catalogue as rows, with one code per rule of `spec` in place of the generic check-failed."""
    rows: list[dict[str, Any]] = [{"code": t.code, "severity": t.severity, "scope": t.scope, "summary": t.summary, "message": t.template}
                                  for t in CATALOGUE.values() if t.code != "check-failed"]
    seen: set[str] = set()
    for rule in spec.rules:
        if rule.required_blanks:
            continue  # reported field by field as required-missing
        code = rule_code(rule.id)
        if code not in seen:
            seen.add(code)
            rows.append({"code": code, "severity": rule.severity, "scope": "field", "summary": f"校验: {rule.name}",
                         "message": CATALOGUE["check-failed"].template})
    return rows
