"""xlkit: protected, validated, formula-driven Excel forms for finance bureaus.

The public library API, importable from here (`from xlkit import check_file`).
Names are resolved on first use, so `import xlkit` stays cheap and a reader
process imports only the layers it needs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .version import __version__

_EXPORTS = {
    # form: the spec and what it defines
    "load_spec": "xlkit.form.load",
    "Spec": "xlkit.form.spec",
    "build_layout": "xlkit.form.placement",
    "make_params": "xlkit.form.params",
    "Layout": "xlkit.form.layout",
    "calculator": "xlkit.form.compute",
    "SpecRegistry": "xlkit.form.registry",
    # intake: reading returned files
    "check_file": "xlkit.intake.check",
    "collect_files": "xlkit.intake.discover",
    "FileReport": "xlkit.intake.report",
    "Issue": "xlkit.intake.report",
    "describe_fields": "xlkit.intake.fields",
    "layout_for": "xlkit.intake.fields",
    "open_template_workbook": "xlkit.intake.identify",
    # write: workbooks out
    "build_template": "xlkit.write.build",
    "fill_workbook": "xlkit.write.fill",
    "load_fill_data": "xlkit.write.fill",
    # bureau: the campaign
    "load_roster": "xlkit.bureau.roster",
    "distribute": "xlkit.bureau.distribute",
    "consolidate": "xlkit.bureau.consolidate",
    "write_wide_csv": "xlkit.bureau.consolidate",
    "Consolidation": "xlkit.bureau.consolidate",
    "write_summary": "xlkit.bureau.summary",
    # campaign: the ledger
    "init_campaign": "xlkit.campaign.setup",
    "receive": "xlkit.campaign.receive",
    "unit_states": "xlkit.campaign.state",
    "return_unit": "xlkit.campaign.actions",
    "accept_unit": "xlkit.campaign.actions",
    "consolidate_campaign": "xlkit.campaign.account",
    "Ledger": "xlkit.campaign.ledger",
    # errors
    "XlkitError": "xlkit.errors",
    "SpecError": "xlkit.errors",
    "FillError": "xlkit.errors",
    "WorkbookError": "xlkit.errors",
    "RosterError": "xlkit.errors",
    "ConsolidationError": "xlkit.errors",
    "CampaignError": "xlkit.errors",
}

__all__ = [
    "CampaignError",
    "Consolidation",
    "ConsolidationError",
    "FileReport",
    "FillError",
    "Issue",
    "Layout",
    "Ledger",
    "RosterError",
    "Spec",
    "SpecError",
    "SpecRegistry",
    "WorkbookError",
    "XlkitError",
    "__version__",
    "accept_unit",
    "build_layout",
    "build_template",
    "calculator",
    "check_file",
    "collect_files",
    "consolidate",
    "consolidate_campaign",
    "describe_fields",
    "distribute",
    "fill_workbook",
    "init_campaign",
    "layout_for",
    "load_fill_data",
    "load_roster",
    "load_spec",
    "make_params",
    "open_template_workbook",
    "receive",
    "return_unit",
    "unit_states",
    "write_summary",
    "write_wide_csv",
]  # the names of _EXPORTS (a test holds them equal)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'xlkit' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors
    from .bureau.consolidate import Consolidation, consolidate, write_wide_csv
    from .bureau.distribute import distribute
    from .bureau.roster import load_roster
    from .bureau.summary import write_summary
    from .campaign.account import consolidate_campaign
    from .campaign.actions import accept_unit, return_unit
    from .campaign.ledger import Ledger
    from .campaign.receive import receive
    from .campaign.setup import init_campaign
    from .campaign.state import unit_states
    from .errors import CampaignError, ConsolidationError, FillError, RosterError, SpecError, WorkbookError, XlkitError
    from .form.compute import calculator
    from .form.layout import Layout
    from .form.load import load_spec
    from .form.params import make_params
    from .form.placement import build_layout
    from .form.registry import SpecRegistry
    from .form.spec import Spec
    from .intake.check import check_file
    from .intake.discover import collect_files
    from .intake.fields import describe_fields, layout_for
    from .intake.identify import open_template_workbook
    from .intake.report import FileReport, Issue
    from .write.build import build_template
    from .write.fill import fill_workbook, load_fill_data
