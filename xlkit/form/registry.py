"""Which spec reads a workbook: by template id and spec fingerprint."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..errors import SpecError
from .load import builtin_spec_path, load_spec
from .spec import Spec


class SpecRegistry:
    """The specs available to read returned files: the current form and any archived versions."""

    def __init__(self, specs: list[Spec]):
        if not specs:
            raise SpecError("no spec to read workbooks with")
        self.current = specs[0]
        self.specs = specs
        self.by_fingerprint = {s.fingerprint(): s for s in reversed(specs)}
        self.template_ids = {s.template.id for s in specs}

    def forms(self) -> dict[str, Spec]:
        """The newest spec of each form (template id) known: the current one first, then each other form's first listed."""
        out: dict[str, Spec] = {}
        for spec in self.specs:
            out.setdefault(spec.template.id, spec)
        return out

    @classmethod
    def default(cls, extra: list[str | Path] | None = None) -> SpecRegistry:
        """Given specs first (the first is current), else the built-in form; then every spec beside the built-in one.
        A spec there that fails to load is a SpecError: skipped, its returns would all read as unknown-version."""
        builtin = builtin_spec_path()
        specs = [load_spec(p) for p in _expand(extra or [])] or [load_spec(builtin)]
        known = {s.fingerprint() for s in specs}
        # the other forms beside the built-in one, then archived versions (in subfolders): a form's current spec comes first
        for path in sorted(builtin.parent.rglob("*.yaml"), key=lambda p: (len(p.relative_to(builtin.parent).parts), p)):
            try:
                spec = load_spec(path)
            except SpecError as exc:
                raise SpecError(f"a spec beside the built-in form does not load (fix or remove it): {exc}") from None
            if spec.fingerprint() not in known:
                known.add(spec.fingerprint())
                specs.append(spec)
        return cls(specs)


@lru_cache(maxsize=16)
def registry_for(spec_paths: tuple[str, ...] = ()) -> SpecRegistry:
    """`SpecRegistry.default`, loaded once per process (forked readers inherit the parent's)."""
    return SpecRegistry.default(list(spec_paths))


def _expand(paths: list[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        out.extend(sorted(path.rglob("*.yaml")) if path.is_dir() else [path])
    return out
