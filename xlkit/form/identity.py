"""Identity of a generated workbook: what template, version and unit it is."""

from __future__ import annotations

from dataclasses import dataclass

from ..version import __version__

META_SHEET = "_xlkit"
UNITS_SHEET = "_units"  # in a bureau summary: one row per unit in its totals, for the next level to read
LISTS_SHEET = "_lists"
PROPERTY_PREFIX = "xlkit."


@dataclass(frozen=True)
class Identity:
    template_id: str
    template_version: str
    fingerprint: str
    unit_code: str
    unit_name: str
    year: str
    params_json: str
    password_hash: str = ""
    generator: str = f"xlkit {__version__}"
    kind: str = ""  # "" for a unit's form; "summary" for a bureau summary, itself an input of the next level

    def rows(self) -> list[tuple[str, str]]:
        return ([("kind", self.kind)] if self.kind else []) + [
            ("template.id", self.template_id),
            ("template.version", self.template_version),
            ("spec.fingerprint", self.fingerprint),
            ("unit.code", self.unit_code),
            ("unit.name", self.unit_name),
            ("year", self.year),
            ("build.params", self.params_json),
            ("protection.hash", self.password_hash),
            ("generator", self.generator),
        ]

    @classmethod
    def from_rows(cls, rows: dict[str, str]) -> Identity:
        return cls(
            template_id=rows.get("template.id", ""),
            template_version=rows.get("template.version", ""),
            fingerprint=rows.get("spec.fingerprint", ""),
            unit_code=rows.get("unit.code", ""),
            unit_name=rows.get("unit.name", ""),
            year=rows.get("year", ""),
            params_json=rows.get("build.params", "{}"),
            password_hash=rows.get("protection.hash", ""),
            generator=rows.get("generator", ""),
            kind=rows.get("kind", ""),
        )


def password_hash(password: str) -> str:
    """The legacy Excel sheet/workbook password hash (ECMA-376 Part 4, 14.7.1): weak by design."""
    if not password:
        return ""
    digest = 0
    for char in reversed(password):
        digest = ((digest >> 14) & 0x01) | ((digest << 1) & 0x7FFF)
        digest ^= ord(char)
    digest = ((digest >> 14) & 0x01) | ((digest << 1) & 0x7FFF)
    digest ^= len(password)
    digest ^= 0xCE4B
    return f"{digest:X}"
