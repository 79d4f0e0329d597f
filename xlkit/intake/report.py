"""What checking a returned file found: issues with a stable code and location, per file.

The report model is shared by check, consolidate, the summary and the CLI; it
knows nothing of how a file is read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..form.functions import Value, XlError
from ..form.identity import Identity
from ..form.layout import Layout
from ..kinds import ReportStatus, Severity
from .catalogue import CATALOGUE, message


@dataclass
class Issue:
    code: str
    severity: Severity
    field: str | None
    sheet: str | None
    cell: str | None
    found: Any
    expected: Any
    message: str
    label: str = ""  # the field's label as the unit's form shows it (for letters; not part of the JSON contract)
    explanation: str = ""  # a warning the unit explained (提示性审核): its 说明, from the 校验 sheet

    @property
    def explained(self) -> bool:
        return bool(self.explanation)

    @property
    def told(self) -> str:
        """The message as people read it: with the unit's 说明 when it explained the warning."""
        return f"{self.message}（单位说明：{self.explanation}）" if self.explanation else self.message

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "field": self.field, "sheet": self.sheet, "cell": self.cell,
                "found": jsonable(self.found), "expected": jsonable(self.expected), "message": self.message,
                "explanation": self.explanation or None}


def file_issue(code: str, detail: str = "", found: Any = None, expected: Any = None) -> Issue:
    """An issue about the file as a whole (no field, sheet or cell)."""
    kind = CATALOGUE[code]
    return Issue(code, kind.severity, None, None, None, found, expected, message(code, detail=detail, found=found, expected=expected))


def jsonable(value: Any) -> Any:
    if isinstance(value, XlError):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)  # JSON has no NaN or infinity
        if value.is_integer() and abs(value) < 1e15:
            return int(value)
    return value


@dataclass
class FileReport:
    path: str
    issues: list[Issue] = field(default_factory=list)
    identity: Identity | None = None
    layout: Layout | None = None
    values: Mapping[str, Value] = field(default_factory=dict)  # inputs as read, formulas as recomputed (a ValueRow)
    saved_at: str = ""
    read_ok: bool = False  # the file was identified and its fields read (layout may be dropped to ship the report)
    via: str = ""  # the summary workbook a unit's figures came through (a roll-up from the level below)
    units: list[FileReport] = field(default_factory=list)  # a summary workbook: the units it carries

    @property
    def status(self) -> ReportStatus:
        severities = {i.severity for i in self.issues}
        return "error" if "error" in severities else "warning" if "warning" in severities else "ok"

    @property
    def readable(self) -> bool:
        return self.read_ok

    def to_dict(self) -> dict[str, Any]:
        ident = self.identity
        return {
            "path": self.path,
            "unit_code": ident.unit_code if ident else None,
            "unit_name": ident.unit_name if ident else None,
            "template": ident.template_id if ident else None,
            "version": ident.template_version if ident else None,
            "status": self.status,
            "issues": [i.to_dict() for i in self.issues],
        }


def report_record(report: FileReport) -> dict[str, Any]:
    """Everything a report holds but its layout, as JSON-safe data: a check kept (the campaign ledger caches them)
    reads back equal with `report_from_record`."""
    return {
        "path": report.path, "saved_at": report.saved_at, "read_ok": report.read_ok, "via": report.via,
        "identity": dict(report.identity.rows()) if report.identity else None,
        "issues": [[i.code, i.severity, i.field, i.sheet, i.cell, _tagged(i.found), _tagged(i.expected), i.message, i.label,
                    i.explanation] for i in report.issues],
        "values": {key: _tagged(value) for key, value in report.values.items()},
        "units": [report_record(unit) for unit in report.units],
    }


def report_from_record(data: dict[str, Any]) -> FileReport:
    identity = Identity.from_rows(data["identity"]) if data.get("identity") is not None else None
    issues = [Issue(code, severity, fld, sheet, cell, _untagged(found), _untagged(expected), text, label, explanation)
              for code, severity, fld, sheet, cell, found, expected, text, label, explanation in data["issues"]]
    return FileReport(data["path"], issues, identity, None, {k: _untagged(v) for k, v in data["values"].items()}, data["saved_at"],
                      data["read_ok"], data["via"], [report_from_record(u) for u in data["units"]])


def _tagged(value: Any) -> Any:
    """Values JSON cannot tell apart keep their kind: an Excel error, a date, a float that is not finite."""
    if isinstance(value, XlError):
        return {"xl": str(value)}
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": str(value)}
    return value


def _untagged(value: Any) -> Any:
    if isinstance(value, dict):
        if "xl" in value:
            return XlError(value["xl"])
        if "datetime" in value:
            return datetime.fromisoformat(value["datetime"])
        if "date" in value:
            return date.fromisoformat(value["date"])
        if "float" in value:
            return float(value["float"])
    return value
