"""The small closed vocabularies shared by every layer, as types a checker can hold us to."""

from __future__ import annotations

from typing import Literal

Severity = Literal["error", "warning"]
FieldKind = Literal["input", "formula"]
ReportStatus = Literal["ok", "warning", "error"]  # a checked file, by its worst issue
FileState = Literal["accepted", "accepted-warnings", "accepted-errors", "rejected", "superseded", "missing", "empty"]  # in a consolidation
DistributeStatus = Literal["created", "unchanged", "replaced", "refused"]
IssueScope = Literal["file", "field"]
