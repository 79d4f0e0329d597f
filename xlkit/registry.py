"""Which spec reads a workbook: by template id and spec fingerprint."""

from __future__ import annotations

from pathlib import Path

from .errors import SpecError
from .spec import Spec, builtin_spec_path, load_spec


class SpecRegistry:
    """The specs available to read returned files: the current form and any archived versions."""

    def __init__(self, specs: list[Spec]):
        if not specs:
            raise SpecError("no spec to read workbooks with")
        self.current = specs[0]
        self.by_fingerprint = {s.fingerprint(): s for s in reversed(specs)}
        self.template_ids = {s.template.id for s in specs}

    @classmethod
    def default(cls, extra: list[str | Path] | None = None) -> SpecRegistry:
        """Given specs first (the first is current), else the built-in form, plus every spec beside it."""
        specs = [load_spec(p) for p in _expand(extra or [])]
        builtin = builtin_spec_path()
        if not specs:
            specs.append(load_spec(builtin))
        for path in sorted(builtin.parent.rglob("*.yaml")):
            if path.resolve() != builtin.resolve() or len(specs) > 0:
                try:
                    spec = load_spec(path)
                except SpecError:
                    continue
                if spec.fingerprint() not in {s.fingerprint() for s in specs}:
                    specs.append(spec)
        return cls(specs)


def _expand(paths: list[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        out.extend(sorted(path.rglob("*.yaml")) if path.is_dir() else [path])
    return out
