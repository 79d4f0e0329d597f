"""The catalogue of issue types: stable codes, severities, messages a clerk understands.

Messages are templates filled from the issue's location and values; they are
in Chinese because the units' clerks read them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..form.compose import composed_rules, copy_rule
from ..form.placement import build_layout
from ..form.spec import Spec
from ..kinds import IssueScope, Severity


@dataclass(frozen=True)
class IssueType:
    code: str
    severity: Severity
    scope: IssueScope  # the whole file, or one field
    template: str
    summary: str  # one line in Chinese, for `xlkit issues`
    advice: str = ""  # what the unit does about it (审核意见's 如何修改); "" where the message already says


CATALOGUE: dict[str, IssueType] = {t.code: t for t in [
    # --- the file as a whole
    IssueType("file-unreadable", "error", "file", "文件无法读取：{detail}", "文件无法打开（不存在、无权限、链接失效或不是普通文件）。"),
    IssueType("file-empty", "error", "file", "文件为空（0字节），请重新导出后报送。", "空文件。"),
    IssueType("file-too-large", "error", "file", "文件过大（{detail}），不是本表的报送文件。", "文件远大于任何已填报的本表。"),
    IssueType("not-a-zip", "error", "file", "文件不是Excel工作簿（内容为{detail}），可能是改了扩展名的其他文件；请在 Excel/WPS 中另存为 .xlsx 后重新报送。",
              "不是 Excel 工作簿：网页、文本或其他内容改了扩展名。"),
    IssueType("legacy-binary", "error", "file", "文件是旧版 .xls 或 WPS .et 格式，请另存为 .xlsx 后报送。",
              "旧版 .xls 或 WPS .et 二进制工作簿。"),
    IssueType("other-format", "error", "file", "文件是{detail}，不是 .xlsx 工作簿；请用下发的模板填报，在 Excel/WPS 中另存为 .xlsx 后重新报送。",
              "PDF、Word、ODF 等其他格式的文件。"),
    IssueType("strict-open-xml", "error", "file", "文件保存为“Strict Open XML 电子表格”格式，本系统不读取该格式；请在 Excel 中另存为“Excel 工作簿(*.xlsx)”后重新报送。",
              "以“Strict Open XML 电子表格”格式保存；说明原因，不读取。"),
    IssueType("content-damaged", "error", "file", "文件内部内容异常，无法按本表读取（{detail}）；请用 Excel/WPS 打开后重新保存，再报送。",
              "文件内部有电子表格软件不会写出的异常内容。"),
    IssueType("xlsb-binary", "error", "file", "文件是 .xlsb 二进制工作簿，请另存为 .xlsx 后报送。", ".xlsb 二进制工作簿。"),
    IssueType("encrypted", "error", "file", "文件设置了打开密码（已加密），请取消打开密码后重新报送。", "设置了打开密码的工作簿。"),
    IssueType("corrupt-zip", "error", "file", "文件已损坏或不完整（{detail}），请重新导出后报送。", "压缩包不完整或已损坏。"),
    IssueType("no-workbook", "error", "file", "压缩包中没有Excel工作簿内容（{detail}）。", "压缩包中没有工作簿内容。"),
    IssueType("lock-file", "error", "file", "这是Office临时锁定文件（{detail}），不是报表本身。", "Office 临时锁定文件（~$…）。"),
    IssueType("macro-enabled", "warning", "file", "文件含宏（.xlsm），已只读取数据，未运行任何宏。", "含宏的 .xlsm：只读取数据，不运行宏。"),
    IssueType("zip-bomb", "error", "file", "文件解压后体积异常（{detail}），已拒绝读取。", "声明或实际解压后的大小远超本表。"),
    IssueType("part-too-large", "error", "file", "文件内部的工作表数据大小异常（{detail}），远超本表应有的大小，已拒绝读取。",
              "某个部件（工作表）远大于本表布局允许的大小：解析前即拒绝。"),
    IssueType("too-many-entries", "error", "file", "文件内部条目过多（{detail}），已拒绝读取。", "压缩包条目数以千计。"),
    IssueType("duplicate-entry", "error", "file", "文件内部有重名条目（{detail}），内容不可信，已拒绝读取。",
              "压缩包条目重名或仅大小写不同。"),
    IssueType("unsafe-entry-name", "error", "file", "文件内部条目名称不安全（{detail}），已拒绝读取。", "压缩包条目名含 .. 或绝对路径。"),
    IssueType("xml-dtd", "error", "file", "文件内部XML含DTD/实体声明（{detail}），已拒绝读取。", "XML 含 DTD 或实体声明（十亿笑脸、XXE）。"),
    IssueType("xml-malformed", "error", "file", "文件内部XML损坏（{detail}）。", "XML 无法解析，或属性、行号、单元格地址异常。"),
    IssueType("returned", "error", "file", "财政部门已退回该文件：{detail}；请按审核意见修改后重新报送。",
              "财政部门已退回的文件（xlkit return），单位再报前不计入汇总。"),
    IssueType("not-our-template", "error", "file", "不是本系统下发的报表模板（缺少模板标识），请使用下发的模板填报。",
              "没有 xlkit 标识：不是本系统生成的工作簿。"),
    IssueType("other-template", "error", "file", "该文件是另一种报表（模板编号 {found}），不是{expected}。若它是本局的报表，"
              "请用 --spec 指定它的格式说明（YAML 文件），或用 xlkit --forms 目录（环境变量 XLKIT_FORMS）让 xlkit 认识它。",
              "由 xlkit 不认识的另一种报表模板生成（其格式说明未提供）。"),
    IssueType("unknown-version", "error", "file", "模板版本 {found} 无法识别（当前为 {expected}）{detail}",
              "模板版本（指纹）没有对应的表样定义：单位用了旧模板，或同一版本的格式说明后来被修改过。"),
    IssueType("metadata-damaged", "error", "file", "模板标识信息已损坏（{detail}）。", "模板标识信息无法读取，或生成参数超出表样允许范围。"),
    IssueType("protection-removed", "warning", "file", "工作表“{sheet}”的保护已被取消。", "某张表的保护被取消。", advice="请勿取消工作表保护，在下发的模板上填写。"),
    IssueType("internal-error", "error", "file", "{detail}本程序（xlkit）内部出错，这不是报送单位的问题；该文件暂未能检查，"
              "请财政部门将此文件和出错时间报告给 xlkit 维护人员处理。",
              "xlkit 自身的程序错误（不是文件的问题）：记入日志，该文件暂不计入，其余文件照常检查。"),
    IssueType("reader-crash", "error", "file", "读取文件时出错（{detail}），请重新导出后报送。", "读取进程出错、崩溃、超时或超出内存。"),
    # --- fields and cells
    IssueType("sheet-renamed", "warning", "field", "工作表“{expected}”被改名为“{sheet}”，已按新名称读取；请勿修改工作表名称。",
              "表样中的工作表被改名；按其定义名称读取。", advice="请把工作表名称改回“{expected}”。"),
    IssueType("sheet-missing", "error", "field", "工作表“{sheet}”已被删除，其中 {detail} 个栏目无法读取。", "表样中的工作表被删除。", advice="工作表不能删除：请在下发的模板上重新填写。"),
    IssueType("name-missing", "error", "field", "栏目“{label}”的定义名称已被删除，按模板位置 {cell} 读取。",
              "栏目的定义名称被删除；按模板位置读取。", advice="请在下发的模板上重新填写，不要删除或修改定义名称。"),
    IssueType("field-moved", "warning", "field", "栏目“{label}”的位置由 {expected} 变为 {cell}（插入或删除了行列），已按新位置读取。",
              "栏目不在模板位置（插入或删除了行列）。", advice="请勿在表中插入或删除行、列；需要增加行次的，请联系财政部门重新下发模板。"),
    IssueType("identity-changed", "error", "field", "“{label}”被改为“{found}”，应为下发时的“{expected}”。", "预填的单位信息被修改。", advice="请改回“{expected}”；预填的单位信息不能修改，确有错误的请联系财政部门。"),
    IssueType("required-missing", "error", "field", "“{label}”为必填项，未填写。", "必填栏目未填写。", advice="请在该单元格填写“{label}”。"),
    IssueType("number-as-text", "error", "field", "“{label}”中的“{found}”是文字形式的数字（看似 {expected}），表内合计不会计入它；请选中该单元格点“转换为数字”，或删除后重新输入数字。",
              "以文字形式存放的数字：表内合计不会计入，须转换为数字。", advice="请选中该单元格点“转换为数字”，或删除后重新输入数字。"),
    IssueType("invalid-number", "error", "field", "“{label}”中保存的数值无效：{found}。Excel 会显示为 #NUM! 或提示文件已损坏；"
              "请在该单元格重新输入数字，保存后再报送。", "数字单元格中保存的不是数字（非数字 NaN、无穷大、1_000 等写法）：按错误值计算，不计入合计。", advice="请输入数字：在该单元格重新输入（不要粘贴），保存后再报送。"),
    IssueType("invalid-value", "error", "field", "“{label}”中保存的值无效：{found}。Excel 会提示文件已损坏；"
              "请在该单元格重新输入，保存后再报送。", "单元格中保存的值不合其类型（共享文本编号无效、逻辑值不是 0/1）：按错误值计算。", advice="请在该单元格重新输入（不要粘贴），保存后再报送。"),
    IssueType("not-a-number", "error", "field", "“{label}”应填数字，实际为“{found}”。", "数字栏目中填了不是数字的文字。", advice="请输入数字，不带单位、空格或其他文字。"),
    IssueType("below-min", "error", "field", "“{label}”不能小于 {expected}，实际为 {found}。", "低于类型的下限（如负数金额）。", advice="请输入不小于 {expected} 的数。"),
    IssueType("above-max", "error", "field", "“{label}”不能大于 {expected}，实际为 {found}。", "高于类型的上限（如得分超过100）。", advice="请输入不大于 {expected} 的数。"),
    IssueType("too-many-decimals", "error", "field", "“{label}”最多保留 {expected} 位小数，实际为 {found}。", "小数位数超过允许值。", advice="请四舍五入到 {expected} 位小数后重新输入。"),
    IssueType("not-integer", "error", "field", "“{label}”应为整数，实际为 {found}。", "人数、年度等填了小数。", advice="请输入整数。"),
    IssueType("too-long", "error", "field", "“{label}”不超过 {expected} 个字，实际 {found} 个字。", "文字超过长度限制。", advice="请精简到 {expected} 个字以内。"),
    IssueType("bad-format", "error", "field", "“{label}”格式不正确：“{found}”。{detail}", "文字格式不符（如电话号码）。", advice="请按该栏目的格式重新填写（选中单元格时的输入提示有说明）。"),
    IssueType("not-in-list", "error", "field", "“{label}”应从下拉列表选择（{expected}），实际为“{found}”。", "不是下拉列表中的选项。", advice="请点单元格右侧的下拉箭头，从列表中选择。"),
    IssueType("not-a-date", "error", "field", "“{label}”应填日期（如 2019-12-31），实际为“{found}”。", "日期栏目中填的不是日期。", advice="请按 2019-12-31 的格式输入日期。"),
    IssueType("date-as-text", "warning", "field", "“{label}”以文字形式填写日期“{found}”，已按 {expected} 读取。", "以文字形式填写、只有一种读法的日期。", advice="已按 {expected} 读取；如不对，请按 2019-12-31 的格式重新输入。"),
    IssueType("not-a-boolean", "error", "field", "“{label}”应填 是/否，实际为“{found}”。", "是/否栏目中填的不是 是/否。", advice="请从下拉列表中选择“是”或“否”。"),
    IssueType("boolean-as-text", "warning", "field", "“{label}”以文字形式填写“{found}”，已按 {expected} 读取。", "以文字形式填写的 是/否（是/否、TRUE/FALSE）。", advice="已按 {expected} 读取；请从下拉列表中选择“是”或“否”。"),
    IssueType("wrong-type", "error", "field", "“{label}”的内容类型不正确：{found}。", "填入栏目的是逻辑值或错误值。", advice="请删除该单元格的内容后重新填写。"),
    IssueType("input-is-formula", "warning", "field", "“{label}”填的是公式 ={detail}，已按其结果 {found} 读取。",
              "填报栏目中是公式；采用其计算结果。", advice="请直接输入数值，填报栏目中不要使用公式。"),
    IssueType("formula-overwritten", "error", "field", "“{label}”的公式被改动或覆盖：应为 {expected}，实际为 {found}。",
              "公式被改动或被常量覆盖。", advice="请勿改动公式单元格：撤销对它的修改，或在下发的模板上重新填写；它的值由公式自动计算。"),
    IssueType("stale-value", "warning", "field", "“{label}”保存的计算结果 {found} 与重新计算的 {expected} 不一致（文件保存时未重新计算），以重新计算为准。",
              "公式未改动，但保存的计算结果与重新计算的不一致。", advice="请勿改动公式单元格；在 Excel/WPS 中打开文件，确认公式已重新计算后保存，再报送。"),
    IssueType("check-failed", "error", "field", "校验未通过：{detail}（本表数 {found}，比较数 {expected}）。",
              "表内校验规则未通过；代码为 check-<规则编号>，级别为该规则的级别。", advice="请核对{left}与{right}，使{left}{cmp}{right}。"),
    # --- 审核: the report against the tables (the spec's narrative section)
    IssueType("narrative-mismatch", "warning", "field", "{where}写“{found}”，表中{label}为 {expected}（原文：{detail}）。",
              "报告文字中引用的数字与表中对应栏目的数不一致（按文中写出的位数取舍后比较）。", advice="请核对报告文字与表中的数，使二者一致。"),
    IssueType("narrative-ratio", "warning", "field", "{where}写“{found}”，按文中所列 {label} 计算为 {expected}（原文：{detail}）。",
              "报告文字中的比率与文中同时列出的分子、分母算出的不一致。", advice="请核对报告中的比率与所列的分子、分母，使三者一致。"),
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
        if math.isfinite(value):
            return f"{value:.10g}"
        return "非数字（NaN）" if math.isnan(value) else "无穷大" if value > 0 else "负无穷大"
    return str(value)


COMPARISON = {"==": "等于", "<=": "不超过", ">=": "不低于"}  # a rule's op as 应为 reads: 不超过 350
EXPLAIN = "如情况属实，请在“校验”表该行的说明栏写明原因。"  # a warning rule the unit may explain (提示性审核)
PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


@dataclass(frozen=True)
class RuleSides:
    """What a rule compares: its op and its two sides as the spec writes them (`{field}`, `#` for a table's row)."""

    op: str
    left: str
    right: str
    labels: Mapping[str, str]  # field id -> label, of the form's default layout (shared by every rule)

    def named(self, field: str | None, label: str) -> tuple[str, str]:
        """Each side in the form's words (a field's label, a number), "" when it is an expression; `field` and
        `label` are the issue's (a row rule's left side at that row)."""
        key = None
        found = PLACEHOLDER.fullmatch(self.left.strip())
        if found and "#" in found[1] and field:
            head, _, tail = found[1].partition("#")
            if field.startswith(head) and field.endswith(tail) and len(field) > len(head) + len(tail):
                key = field[len(head):len(field) - len(tail)]
        return (self._side(self.left, key, field, label), self._side(self.right, key, None, ""))

    def _side(self, text: str, key: str | None, field: str | None, label: str) -> str:
        text = text.strip()
        found = PLACEHOLDER.fullmatch(text)
        if found:
            name = found[1].replace("#", key) if key is not None else found[1]
            if name == field and label:
                return f"“{label}”"
            return f"“{self.labels[name]}”" if name in self.labels else ""
        return text if re.fullmatch(r"-?\d+(\.\d+)?", text) else ""


def rule_sides(spec: Spec) -> dict[str, RuleSides]:
    """By issue code (check-<rule id>): the comparison each rule of the spec makes, for 应为 and 如何修改."""
    labels = {fid: slot.label for fid, slot in build_layout(spec).fields.items()}
    composed = [copy_rule(rule, entry, 1, entry.sheet_name.replace("{n}", "")) for entry in spec.compose for rule in composed_rules(entry)]
    sides: dict[str, RuleSides] = {}
    for rule in [*spec.rules, *composed]:
        if not rule.required_blanks and rule.left and rule.right:
            sides.setdefault(rule_code(rule.id), RuleSides(rule.op, rule.left, rule.right, labels))
    return sides


def advice(code: str, severity: str, label: str = "", expected: Any = None, sides: RuleSides | None = None,
           field: str | None = None) -> str:
    """What to do about one issue, in the unit's words ("" when its message already says)."""
    if code.startswith("check-") and code not in CATALOGUE:
        cmp = COMPARISON.get(sides.op if sides else "==", "等于")
        left, right = sides.named(field, label) if sides else ("", "")
        left, right = (left, right) if left and right else ("本表数", "比较数")
        text = CATALOGUE["check-failed"].advice.format(left=left, right=right, cmp=cmp)
        return text + (EXPLAIN if severity == "warning" else "")
    kind = CATALOGUE.get(code)
    if kind is None or not kind.advice:
        return ""
    return kind.advice.format(label=label, expected="" if expected is None else _show(expected))


def rule_code(rule_id: str) -> str:
    """The issue code of a spec rule (校验): `check-<rule id>`; rows of a `for:` rule share their rule's code."""
    return "check-" + rule_id.split(".")[0].replace("_", "-")


def issue_types(spec: Spec) -> list[dict[str, Any]]:
    """The catalogue as rows, with one code per rule of `spec` in place of the generic check-failed."""
    rows: list[dict[str, Any]] = [{"code": t.code, "severity": t.severity, "scope": t.scope, "summary": t.summary, "message": t.template}
                                  for t in CATALOGUE.values() if t.code != "check-failed"]
    seen: set[str] = set()
    composed = [copy_rule(rule, entry, 1, entry.sheet_name.replace("{n}", "")) for entry in spec.compose for rule in composed_rules(entry)]
    for rule in [*spec.rules, *composed]:
        if rule.required_blanks:
            continue  # reported field by field as required-missing
        code = rule_code(rule.id)
        if code not in seen:
            seen.add(code)
            rows.append({"code": code, "severity": rule.severity, "scope": "field", "summary": "校验：" + rule.name.replace("{row}", "各行").replace("{sheet}", "各表"),
                         "message": CATALOGUE["check-failed"].template})
    return rows
