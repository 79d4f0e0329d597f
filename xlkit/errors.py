"""One exception tree: the CLI turns every `XlkitError` into a one-line message and an exit code."""

from __future__ import annotations

from typing import Any


class XlkitError(Exception):
    """Base of every error xlkit reports to a user (exit 2 at the CLI)."""


class SpecError(XlkitError):
    """The template spec is invalid; the message names the spec path."""


class FillError(XlkitError):
    """Fill data does not fit the template; nothing was written."""


class WorkbookError(XlkitError):
    """A workbook cannot be read as an xlkit template."""


class RosterError(XlkitError):
    """Problems in the roster file; the message names every bad row."""


class ConsolidationError(XlkitError):
    """Nothing to consolidate, or the summary failed its own self-check."""


class FormulaSyntaxError(XlkitError, ValueError):
    """A formula outside the supported subset, from a spec or from a returned file."""


class FileProblem(XlkitError):
    """A returned file that cannot be read as a workbook; `code` is in the issue catalogue."""

    def __init__(self, code: str, detail: str = "", found: Any = None, expected: Any = None):
        super().__init__(detail or code)
        self.code = code
        self.detail = detail
        self.found = found
        self.expected = expected


class ValueProblem(XlkitError, ValueError):
    """A value that does not fit its type: a catalogue code and what was found/expected."""

    def __init__(self, code: str, message: str, found: Any = None, expected: Any = None):
        super().__init__(message)
        self.code = code
        self.found = found
        self.expected = expected


class CampaignError(XlkitError):
    """A campaign folder or ledger problem, or an action the unit's state does not allow; nothing was recorded."""
