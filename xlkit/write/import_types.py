"""`spec import`, step 4: value types from what a cell shows: its number format, its data validation (kept as the
type's validation, with the cell's address as {cell}) and, for an unmarked input, words of its label."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .import_read import Cell

CRITERIA = {"between": "between", "notBetween": "not between", "equal": "==", "notEqual": "!=", "greaterThan": ">",
            "lessThan": "<", "greaterThanOrEqual": ">=", "lessThanOrEqual": "<="}
VALIDATE = {"whole": "integer", "decimal": "decimal", "list": "list", "date": "date", "time": "time", "textLength": "length",
            "custom": "custom"}
PERCENT = re.compile(r"%")
DATE_FORMAT = re.compile(r"(yy|mm/|dd|年.*月|m/d)", re.IGNORECASE)
NUMBER_FORMAT = re.compile(r"^[#,0.]+$")


@dataclass
class TypeDef:
    name: str
    base: str
    options: dict[str, Any] = field(default_factory=dict)
    why: str = ""  # a guess, for the YAML comment


@dataclass
class Types:
    lists: dict[str, list[str]]
    list_sources: dict[str, list[str]]
    defs: dict[str, TypeDef] = field(default_factory=dict)
    seen: dict[str, str] = field(default_factory=dict)  # signature -> type name

    def of(self, cell: Cell, label: str, formula: bool) -> str:
        base, options, name, why = self._describe(cell, label, formula)
        signature = repr((base, sorted(options.items(), key=lambda kv: kv[0])))
        if signature in self.seen:
            return self.seen[signature]
        unique, n = name, 2
        while unique in self.defs:
            unique, n = f"{name}{n}", n + 1
        self.defs[unique] = TypeDef(unique, base, options, why)
        self.seen[signature] = unique
        return unique

    def _describe(self, cell: Cell, label: str, formula: bool) -> tuple[str, dict[str, Any], str, str]:
        fmt = cell.number_format if cell.number_format != "General" else ""
        options: dict[str, Any] = {"number_format": fmt} if fmt else {}
        validation = None if formula or cell.validation is None else self._validation(cell)
        if validation is not None:
            options["validation"] = validation
        kind = validation.get("validate") if validation else None
        base, name, why = "text", "text", ""
        if kind == "integer":
            base, name = "integer", "count"
        elif kind == "decimal":
            base, name = "number", "number"
        elif kind == "list":
            base, name = "text", "choice"
        elif kind == "date":
            base, name = "date", "date"
        elif kind == "custom":
            base = "number" if "ISNUMBER" in str((validation or {}).get("value", "")).upper() else "text"
            name = "number" if base == "number" else "text"
        elif kind == "length":
            base, name = "text", "text"
        elif fmt and PERCENT.search(fmt):
            base, name = "number", "ratio"
        elif fmt and DATE_FORMAT.search(fmt):
            base, name = "date", "date"
        elif fmt and NUMBER_FORMAT.match(fmt):
            base, name = ("number", "number") if "." in fmt else ("integer", "count")
        elif formula:
            base, name = ("text", "result") if '"' in (cell.formula or "") else ("number", "number")
        else:
            base, name, why, options = self._from_label(label, options)
        if base == "number" and fmt and re.fullmatch(r"(#,##)?0\.00", fmt):
            name = "money"
        if base == "number" and validation is None and not formula and name == "money":
            options.setdefault("min", 0)
        if kind in ("integer", "decimal"):
            bounds = self._bounds(validation or {})
            options.update(bounds)
        if kind == "length" and validation and validation.get("criteria") in ("<=", "between"):
            limit = validation.get("maximum", validation.get("value"))
            if isinstance(limit, int) and limit > 0:
                options["max_length"] = limit
        if kind == "list" and validation:
            source = str(validation.pop("source", ""))
            entries = self._entries(source)
            if entries:
                options["choices"] = self._list_name(entries)
        if kind == "custom" and validation:
            digits = re.search(r"ROUND\(\{cell\},(\d)\)=\{cell\}", str(validation.get("value", "")))
            if digits:
                options["decimals"] = int(digits.group(1))
            if re.search(r"\{cell\}>=0", str(validation.get("value", ""))):
                options["min"] = 0
            words = re.findall(r'\{cell\}="([^"]+)"', str(validation.get("value", "")))
            if words:  # a number or one of these words (达成 / 基本达成 / 未达成)
                options["choices"] = self._list_name(list(dict.fromkeys(words)))
        return base, options, name, why

    @staticmethod
    def _from_label(label: str, options: dict[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
        if "万元" in label or re.search(r"（元）|\(元\)|金额", label):
            unit = "万元" if "万元" in label else "元"
            return "number", "money", f"金额，标签“{label}”含{unit}", {
                "min": 0, "decimals": 2, "unit": unit, "number_format": "#,##0.00",
                "validation": {"validate": "decimal", "criteria": ">=", "value": 0, "input_title": f"金额（{unit}）",
                               "input_message": "请输入不小于0的金额。"}}
        if re.search(r"（%）|\(%\)", label):
            return "number", "ratio", f"比率，标签“{label}”", {"number_format": "0.00%"}
        if "电话" in label:
            return "text", "phone", f"电话，标签“{label}”", {"max_length": 20, "pattern": "^[0-9-]{7,20}$",
                                                             "validation": {"validate": "length", "criteria": "<=", "value": 20,
                                                                            "input_message": "手机号或带区号的固定电话。"}}
        if "日期" in label:
            return "date", "date", f"日期，标签“{label}”", {"number_format": "yyyy-mm-dd"}
        if re.fullmatch(r"\s*(年度|年份|所属年度|评价年度)[:：]?\s*", label):
            return "integer", "year", f"年份，标签“{label}”", {"min": 2000, "max": 2100, "number_format": "0", "validation": {
                "validate": "integer", "criteria": "between", "minimum": 2000, "maximum": 2100, "input_message": "四位年份，如2019。"}}
        return "text", "text", "", options

    @staticmethod
    def _bounds(validation: dict[str, Any]) -> dict[str, Any]:
        criteria = validation.get("criteria")
        value, low, high = validation.get("value"), validation.get("minimum"), validation.get("maximum")
        out: dict[str, Any] = {}
        if criteria == "between" and isinstance(low, (int, float)) and isinstance(high, (int, float)):
            out = {"min": low, "max": high}
        elif criteria in (">=", ">") and isinstance(value, (int, float)):
            out = {"min": value}
        elif criteria in ("<=", "<") and isinstance(value, (int, float)):
            out = {"max": value}
        return out

    def _entries(self, source: str) -> list[str]:
        if source.startswith('"'):
            return [e.strip() for e in source.strip('"').split(",") if e.strip()]
        key = source.lstrip("=").replace("'", "")
        return self.list_sources.get(key, [])

    def _list_name(self, entries: list[str]) -> str:
        for name, items in self.lists.items():
            if items == entries:
                return name
        name = f"list{len(self.lists) + 1}"
        self.lists[name] = entries
        return name

    @staticmethod
    def _validation(cell: Cell) -> dict[str, Any] | None:
        v = cell.validation or {}
        kind = VALIDATE.get(str(v.get("type")))
        if kind is None:
            return None
        own = v.get("first") or cell.address

        def value(text: Any) -> Any:
            if text is None:
                return None
            text = str(text)
            if re.fullmatch(r"-?[0-9]+", text):
                return int(text)
            if re.fullmatch(r"-?[0-9]*\.[0-9]+", text):
                return float(text)
            return "=" + re.sub(r"(?<![A-Z$0-9])" + re.escape(own) + r"(?![0-9])", "{cell}", text.lstrip("="))

        out: dict[str, Any] = {"validate": kind}
        if kind == "custom":
            out["value"] = value(v.get("formula1"))
        elif kind == "list":
            out["source"] = str(v.get("formula1") or "")
        else:
            criteria = CRITERIA.get(str(v.get("operator") or "between"), "between")
            out["criteria"] = criteria
            if criteria in ("between", "not between"):
                out["minimum"], out["maximum"] = value(v.get("formula1")), value(v.get("formula2"))
            else:
                out["value"] = value(v.get("formula1"))
        for key, option in (("prompt_title", "input_title"), ("prompt", "input_message"), ("error_title", "error_title"),
                            ("error", "error_message")):
            if v.get(key):
                out[option] = str(v[key])
        if v.get("error_style") in ("warning", "information"):
            out["error_type"] = v["error_style"]
        return out


def q(value: Any) -> str:
    """A YAML scalar: JSON's double-quoted strings are YAML too, so no text can be misread."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(str(value), ensure_ascii=False)


def flow(mapping: dict[str, Any]) -> str:
    parts = []
    for key, value in mapping.items():
        if isinstance(value, dict):
            parts.append(f"{key}: {flow(value)}")
        elif isinstance(value, list):
            parts.append(f"{key}: [{', '.join(q(v) for v in value)}]")
        else:
            parts.append(f"{key}: {q(value)}")
    return "{" + ", ".join(parts) + "}"
