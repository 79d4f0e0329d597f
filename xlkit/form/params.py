"""Build parameters: what varies between units' copies of one template (row counts, item names, identity)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import XlkitError
from .spec import Spec, within
from .spec_roster import PREFILL_KEYS, PREVIOUS_PREFIX, is_prefill_key  # the prefill vocabulary, which the spec checks too

__all__ = ["PREFILL_KEYS", "PREVIOUS_PREFIX", "BuildParams", "is_prefill_key", "make_params"]


@dataclass(frozen=True)
class BuildParams:
    """What varies between units' copies of one template."""

    prefill: dict[str, Any] = field(default_factory=dict)  # unit_code, unit_name, year, parent_name
    items: dict[str, list[str]] = field(default_factory=dict)  # parameter -> item names (count = len)
    constants: dict[str, float] = field(default_factory=dict)  # every constant of the spec with the value this copy uses

    def to_json(self) -> str:
        data: dict[str, Any] = {"prefill": self.prefill, "items": self.items}
        if self.constants:  # a spec without constants keeps the identity it always had
            data["constants"] = self.constants
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    def value_of(self, key: str) -> Any:
        """A prefilled value: a prefill key, or `item:<parameter>:<index>`, the name of a repeated item (a composed
        copy's own identity, e.g. a key project's name); None when not given."""
        if key.startswith("item:"):
            _tag, parameter, index = key.split(":")
            names = self.items.get(parameter, [])
            return names[int(index)] if int(index) < len(names) else None
        return self.prefill.get(key)

    def shape(self) -> BuildParams:
        """What decides cells and formulas: row counts and which identity fields are prefilled, not the names."""
        return BuildParams(prefill={k: True for k in self.prefill}, items={k: [""] * len(v) for k, v in self.items.items()},
                           constants=self.constants)

    @classmethod
    def from_json(cls, text: str) -> BuildParams:
        data = json.loads(text)
        return cls(prefill=dict(data.get("prefill", {})), items={k: list(v) for k, v in data.get("items", {}).items()},
                   constants={str(k): float(v) for k, v in data.get("constants", {}).items()})


def make_params(
    spec: Spec,
    prefill: dict[str, Any] | None = None,
    counts: dict[str, int] | None = None,
    names: dict[str, list[str]] | None = None,
    constants: dict[str, float] | None = None,
) -> BuildParams:
    """Check counts and constants against the spec's bounds and give every repeated item a name."""
    counts = dict(counts or {})
    names = dict(names or {})
    unknown = (set(counts) | set(names)) - set(spec.parameters)
    if unknown:
        raise XlkitError(f"未知的构建参数 {', '.join(sorted(unknown))}（已定义：{', '.join(spec.parameters) or '无'}）")
    items: dict[str, list[str]] = {}
    for key, parameter in spec.parameters.items():
        given = names.get(key)
        count = len(given) if given is not None else counts.get(key, parameter.default)
        if given is not None and key in counts and counts[key] != len(given):
            raise XlkitError(f"{parameter.label} ({key}) 要求 {counts[key]} 项，但给出了 {len(given)} 个名称")
        if not parameter.min <= count <= parameter.max:
            raise XlkitError(f"{parameter.label} ({key}) 应在 {parameter.min} 到 {parameter.max} 之间，实为 {count}")
        pattern = parameter.item_name or "{n}"
        items[key] = [str(n) for n in given] if given is not None else [pattern.replace("{n}", str(i + 1)) for i in range(count)]
    clean = {k: v for k, v in (prefill or {}).items() if v not in (None, "")}
    bad = {k for k in clean if not is_prefill_key(k)}
    if bad:
        raise XlkitError(f"未知的预填键 {', '.join(sorted(bad))}（可用：{', '.join(PREFILL_KEYS)} 和 {PREVIOUS_PREFIX}名称）")
    return BuildParams(prefill=clean, items=items, constants=_constants(spec, constants or {}))


def _constants(spec: Spec, given: dict[str, float]) -> dict[str, float]:
    unknown = set(given) - set(spec.constants)
    if unknown:
        known = ", ".join(spec.constants) or "无"
        raise XlkitError(f"未知的常量 {', '.join(sorted(unknown))}（已定义：{known}）")
    values = {}
    for name, constant in spec.constants.items():
        value = float(given.get(name, constant.value))
        if not math.isfinite(value) or not within(value, constant.min, constant.max):
            raise XlkitError(f"{constant.label} ({name}) 应在 {constant.min} 到 {constant.max} 之间，实为 {value}")
        values[name] = value
    return values
