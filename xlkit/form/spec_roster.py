"""The `roster:` section of a spec: which columns of the bureau's roster set this form's parameters and prefill keys,
unit by unit. It shapes distribution, not the workbook, so it is not part of the fingerprint."""

from __future__ import annotations

from pydantic import Field

from .spec_base import Model

PREFILL_KEYS = ("unit_code", "unit_name", "year", "parent_code", "parent_name", "issuer", "implementer", "contact_name",
                "contact_phone")  # issuer: the bureau that issues
# the form; implementer: the unit that carries a project out (a project form's unit code and name are the project's)
PREVIOUS_PREFIX = "previous."  # last year's figures, prefilled from the previous campaign (`previous.<name>`, spec-declared)


def is_prefill_key(key: str) -> bool:
    return key in PREFILL_KEYS or (key.startswith(PREVIOUS_PREFIX) and len(key) > len(PREVIOUS_PREFIX))


class RosterParameter(Model):
    """A parameter set per unit from one roster column: its whole number (the row count), or with `names` a list of
    names separated by ；;、| (the count and each item's name; an empty cell is none)."""

    column: str = Field(min_length=1)  # the roster's header (Chinese); the parameter's own name is accepted as well
    names: bool = False


class RosterMap(Model):
    parameters: dict[str, RosterParameter] = Field(default_factory=dict)  # parameter -> its column (an empty cell: the default)
    prefill: dict[str, str] = Field(default_factory=dict)  # prefill key -> column, beyond the roster's identity columns
