"""The field list: the public data interface of a template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..form.layout import Layout
from ..form.load import load_spec
from ..form.placement import build_layout
from ..form.spec import Spec
from .identify import open_template_workbook


def describe_fields(layout: Layout) -> list[dict[str, Any]]:
    return [
        {
            "id": s.id,
            "sheet": s.sheet,
            "cell": s.address,
            "kind": s.kind,
            "type": s.type,
            "label": s.label,
            "required": s.required,
            "locked": s.kind == "formula" or s.locked,
            **({"formula": "=" + s.formula} if s.formula else {}),
        }
        for s in layout.fields.values()
    ]


def layout_for(source: str | Path | None, spec: Spec | None = None) -> Layout:
    """SOURCE is a spec (.yaml/.yml), a generated workbook, or nothing (the built-in form)."""
    if source is None:
        return build_layout(spec or load_spec())
    path = Path(source)
    if path.suffix.lower() in (".yaml", ".yml"):
        return build_layout(load_spec(path))
    opened = open_template_workbook(path, spec)
    opened.close()
    return opened.layout
