"""Write fill data (keyed by field id) into a generated workbook."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from ..errors import FillError, ValueProblem
from ..form.functions import Value
from ..form.layout import Layout
from ..form.spec import Spec
from ..form.values import coerce_fill_value
from ..intake.identify import open_template_workbook
from .build import write_workbook

MAX_LISTED = 20
_JSON_KINDS: dict[type, str] = {list: "数组", str: "字符串", int: "数字", float: "数字", bool: "布尔值", type(None): "null"}  # in a person's words


def load_fill_data(path: str | Path) -> dict[str, Any]:
    """JSON object {field id: value}, or CSV rows `field,value` (a header row is optional)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise FillError(f"{path}: 无法读取填报数据：{exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise FillError(f"{path}: 填报数据应为 UTF-8 文本（JSON 或 CSV），实为其他编码或二进制内容") from None
    if path.suffix.lower() == ".csv":
        data: dict[str, Any] = {}
        for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if not row or (n == 1 and [c.strip().lower() for c in row[:2]] == ["field", "value"]):
                continue
            if len(row) != 2:
                raise FillError(f"{path}: 第 {n} 行：应为 2 列 `field,value`，实有 {len(row)} 列")
            if row[0].strip() in data:
                raise FillError(f"{path}: 第 {n} 行：字段 {row[0].strip()!r} 已在前面给出过，不能重复")
            data[row[0].strip()] = row[1]
        return data
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FillError(f"{path}: 不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}") from None
    if not isinstance(data, dict):
        raise FillError(f"{path}: 填报数据应为以字段 id 为键的 JSON 对象 {{\"字段id\": 值, …}}，实为 JSON {_JSON_KINDS.get(type(data), '值')}")
    return data


def fill_workbook(workbook: str | Path, data: dict[str, Any], out: str | Path, spec: Spec | None = None) -> dict[str, Value]:
    """Validate all of `data` first; write nothing unless every value fits."""
    opened = open_template_workbook(workbook, spec)
    try:
        clean = _validated(data, opened.layout)
        values = opened.input_values()
    finally:
        opened.close()
    values.update(clean)
    return write_workbook(opened.layout, values, Path(out), opened.identity.password_hash)


def _validated(data: dict[str, Any], layout: Layout) -> dict[str, Any]:
    problems: list[str] = []
    clean: dict[str, Any] = {}
    for field_id, value in data.items():
        slot = layout.fields.get(field_id)
        if slot is None:
            problems.append(f"{field_id}: 未知的字段 id（可用 `xlkit fields` 查看模板的字段）")
        elif slot.kind == "formula":
            problems.append(f"{field_id}: 是公式字段（{slot.sheet}!{slot.address}），不能填写")
        elif slot.locked:
            if slot.prefill and str(layout.params.value_of(slot.prefill)) == str(value):
                continue  # the same value it was built with: nothing to change
            problems.append(f"{field_id}: 已锁定，生成模板时已预填（{slot.sheet}!{slot.address}），给出的值与预填值不同")
        else:
            try:
                clean[field_id] = coerce_fill_value(value, layout.spec.types[slot.type], layout.spec)
            except ValueProblem as exc:
                problems.append(f"{field_id}（{slot.label}，{slot.sheet}!{slot.address}）: {exc}")
    if problems:
        listed = "\n  ".join(problems[:MAX_LISTED])
        more = f"\n  …… 另有 {len(problems) - MAX_LISTED} 处" if len(problems) > MAX_LISTED else ""
        raise FillError(f"填报数据中有 {len(problems)} 处问题，未写入任何内容：\n  {listed}{more}")
    return clean
