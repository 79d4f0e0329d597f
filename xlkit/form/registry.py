"""Which spec reads a workbook: by template id and spec fingerprint."""

from __future__ import annotations

from pathlib import Path

from ..caches import memo
from ..errors import SpecError
from .forms import FORMS_ENV, forms_folders
from .load import builtin_spec_path, load_spec
from .spec import Spec


class SpecRegistry:
    """The specs available to read returned files: the current form and any archived versions."""

    def __init__(self, specs: list[Spec]):
        if not specs:
            raise SpecError("没有可用来读取工作簿的表式")
        self.current = specs[0]
        self.specs = specs
        self.fingerprints = [s.fingerprint() for s in specs]  # hashing a spec's model takes a millisecond or two: once
        self.by_fingerprint = dict(zip(reversed(self.fingerprints), reversed(specs), strict=True))
        self.template_ids = {s.template.id for s in specs}

    def forms(self) -> dict[str, Spec]:
        """The newest spec of each form (template id) known: the current one first, then each other form's first listed."""
        out: dict[str, Spec] = {}
        for spec in self.specs:
            out.setdefault(spec.template.id, spec)
        return out

    @classmethod
    def default(cls, extra: list[str | Path] | None = None, forms: list[str | Path] | None = None) -> SpecRegistry:
        """Given specs first (the first is current), else the built-in form; then every spec beside the built-in one and
        in the forms folders. A spec there that fails to load is a SpecError, never skipped (its returns would all read
        as unknown-version)."""
        builtin = builtin_spec_path()
        specs = [load_spec(p) for p in _expand(extra or [])] or [load_spec(builtin)]
        known = {s.fingerprint() for s in specs}
        # the other forms beside the built-in one, then archived versions (in subfolders): a form's current spec comes first
        folders = [(builtin.parent, "内置表式旁的表式"),
                   *[(Path(f), f"表式文件夹 {f} 中的表式") for f in (forms if forms is not None else forms_folders())]]
        for path, where in [(p, where) for folder, where in folders for p in _in_order(folder)]:
            try:
                spec = load_spec(path)
            except SpecError as exc:
                raise SpecError(f"{where}无法加载（请修正或移走）：{exc}") from None
            if spec.fingerprint() not in known:
                known.add(spec.fingerprint())
                specs.append(spec)
        return cls(specs)


def _in_order(folder: Path) -> list[Path]:
    """A folder's specs, each form's current spec (top level) before its archived versions (subfolders)."""
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise SpecError(f"表式文件夹 {folder} 不存在（由 --forms 或 {FORMS_ENV} 指定）")
    return sorted(folder.rglob("*.yaml"), key=lambda p: (len(p.relative_to(folder).parts), p))


def registry_for(spec_paths: tuple[str, ...] = ()) -> SpecRegistry:
    """`SpecRegistry.default`, loaded once per process and forms folders (forked readers inherit the parent's)."""
    return _registry(spec_paths, tuple(forms_folders()))


@memo(16)
def _registry(spec_paths: tuple[str, ...], forms: tuple[str, ...]) -> SpecRegistry:
    return SpecRegistry.default(list(spec_paths), list(forms))


def _expand(paths: list[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        out.extend(sorted(path.rglob("*.yaml")) if path.is_dir() else [path])
    return out
