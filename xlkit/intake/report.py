"""What checking a returned file found: issues with a stable code and location, per file.

The report model is shared by check, consolidate, the summary and the CLI; it
knows nothing of how a file is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
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

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "field": self.field, "sheet": self.sheet, "cell": self.cell,
                "found": jsonable(self.found), "expected": jsonable(self.expected), "message": self.message}


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
    values: dict[str, Value] = field(default_factory=dict)  # inputs as read, formulas as recomputed
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
