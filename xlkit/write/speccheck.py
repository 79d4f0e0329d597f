"""`xlkit spec check`: everything the loader finds, then a trial build of the template at the default and the
largest row counts, so a spec that passes builds."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..errors import SpecError, XlkitError
from ..form.identity import password_hash
from ..form.load import load_spec, model_problems, trial_counts
from ..form.params import make_params
from ..form.placement import build_layout
from ..form.spec import Spec
from .build import write_workbook


def spec_problems(path: str | Path) -> list[str]:
    """Every problem of a spec file, each `file:line: spec path: what`; [] when it loads and builds."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [f"{path}: 无法读取表式文件：{getattr(exc, 'strerror', None) or exc}"]
    model = model_problems(str(path), text)
    if not isinstance(model, Spec):
        return model
    try:
        spec = load_spec(path)
    except SpecError as exc:
        return [str(exc)]
    problems = []
    with tempfile.TemporaryDirectory(prefix="xlkit-spec-check-") as scratch:
        for counts in trial_counts(spec):
            problems += _trial_build(path, spec, counts, Path(scratch) / "trial.xlsx")
    return problems


def _trial_build(path: Path, spec: Spec, counts: dict[str, int], out: Path) -> list[str]:
    shown = "行数 " + ", ".join(f"{key}={count}" for key, count in counts.items()) if counts else "无参数"
    try:
        layout = build_layout(spec, make_params(spec, counts=counts))
        write_workbook(layout, {}, out, password_hash(spec.template.password or ""))
    except XlkitError as exc:
        return [f"{path}: 生成模板失败（{shown}）：{exc}"]
    except Exception as exc:  # a spec that loads must build: anything else is a gap in the loader's checks
        return [f"{path}: 生成模板失败（{shown}：{str(exc) or '没有说明'}）；"
                "这是 xlkit 检查的疏漏，请把这份表式报给 xlkit 的维护者"]
    return []
