"""Named exceptions: the CLI maps each to a one-line message and an exit code."""

from __future__ import annotations


class XlkitError(Exception):
    """Base of every error xlkit reports to a user (exit 2 at the CLI)."""


class SpecError(XlkitError):
    """The template spec is invalid; the message names the spec path."""


class FillError(XlkitError):
    """Fill data does not fit the template; nothing was written."""


class WorkbookError(XlkitError):
    """A workbook cannot be read as an xlkit template."""
