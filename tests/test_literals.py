"""The package knows no form: no bundled spec's parameter, type or field id is written as a literal in xlkit/ (the
demo aside, which runs the bundled forms on purpose). What a form is lives in its spec."""

from __future__ import annotations

import ast
from pathlib import Path

from xlkit.form.load import load_spec
from xlkit.form.placement import build_layout
from xlkit.form.spec import IMPLICIT_TYPES

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "xlkit"

# Words of the spec language itself (or of other vocabularies) that a bundled spec happens to use as names too.
ALLOWED: dict[str, str] = {
    **{name: "a type the spec language supplies (IMPLICIT_TYPES)" for name in IMPLICIT_TYPES},
    "date": "a base type of the spec language (ValueType.base)",
    "ratio": "a summary column's `total: ratio`, the spec language's word",
    "year": "a prefill key and identity row key of the _xlkit sheet",
    "unit.code": "an identity row key of the _xlkit sheet",
    "unit.name": "an identity row key of the _xlkit sheet",
    "kind": "an identity row key of the _xlkit sheet (template or summary)",
    "criteria": "an option name of xlsxwriter's data validation",
    "code": "a JSON key and the ledger's column of a unit's code",
    "name": "a JSON key and the ledger's column of a unit's name",
    "phone": "a JSON key and the ledger's column of a unit's contact phone",
    "count": "a JSON key (counts in reports and the web page)",
    "role": "an officer's role in the campaign's accounts (ledger column, JSON key)",
}
# The spec importer writes new specs: the type names it gives a new spec are its own choice, not a bundled form's.
IMPORTER = {"xlkit/write/import_types.py": {"money", "ratio", "count"}}


def bundled_names() -> dict[str, set[str]]:
    """Every bundled spec's parameter names, type names and field ids (at the default counts), with where from."""
    names: dict[str, set[str]] = {}
    for path in sorted((ROOT / "templates").glob("*.yaml")):
        spec = load_spec(path)
        for kind, values in (("parameter", spec.parameters), ("type", spec.types), ("field", build_layout(spec).fields)):
            for name in values:
                names.setdefault(name, set()).add(f"{path.name} {kind}")
    return names


def literals(path: Path) -> list[tuple[str, int]]:
    return [(node.value, node.lineno) for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def hits(names: dict[str, set[str]], root: Path = PACKAGE) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
        if relative.startswith("xlkit/demo/"):
            continue
        for value, line in literals(path):
            if value in names and value not in ALLOWED and value not in IMPORTER.get(relative, set()):
                out.append(f"{relative}:{line}: {value!r} ({', '.join(sorted(names[value]))})")
    return out


def test_no_bundled_form_is_written_in_python() -> None:
    names = bundled_names()
    assert {"sub_units", "projects", "key_projects", "quantity", "money", "score", "project.code", "funds.total.spent"} <= set(names)
    assert hits(names) == []


def test_the_scan_finds_a_form_written_in_python(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text('COUNTS = {"sub_units": 2}\nFORMAT = fmt.number("unit", "money")\nCODE = own.get("project.code")\n'
                                     'OK = {"text": 1, "year": 2}  # the spec language\'s own words\n', encoding="utf-8")
    found = hits(bundled_names(), tmp_path)
    assert [hit.split(" (")[0] for hit in found] == ["bad.py:1: 'sub_units'", "bad.py:2: 'money'", "bad.py:3: 'project.code'"]


def test_every_allowed_word_is_still_a_bundled_name() -> None:
    """An allow-list entry no bundled spec needs any more goes: the list stays short."""
    names = bundled_names()
    assert [word for word in ALLOWED if word not in names] == []
