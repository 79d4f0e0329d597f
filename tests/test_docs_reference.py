"""docs/forms.md's spec reference kept true to the spec model: every key of the JSON Schema is documented, each key
table names only keys of its model with the model's required-ness and default, the function list is the engine's,
and every YAML example parses (a block example also loads in a spec)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from xlkit.form import spec as model
from xlkit.form import spec_review as review
from xlkit.form.functions import FUNCTIONS
from xlkit.form.load import load_spec
from xlkit.form.schema import spec_schema

DOCS = Path(__file__).resolve().parents[1] / "docs" / "forms.md"
YAML_BLOCK = re.compile(r"^```yaml[^\n]*\n(.*?)^```$", re.S | re.M)
CODE = re.compile(r"`([^`]+)`")
KEY_TABLE = "| key | required | default | example | what it does |"

# The key tables of the reference, in the order they appear, and the model each documents.
TABLES: list[type[BaseModel]] = [
    model.Spec, model.TemplateInfo, model.Parameter, model.Constant, model.Band, model.ValueType, model.Sheet,
    model.Block, model.FieldItem, model.ListBlock, model.Table, model.HeaderCell, model.TableRow, model.TableColumn,
    model.RulesBlock, model.Rule, model.Compose, model.Link, model.Previous, model.PreviousFigure, model.RosterMap, model.RosterParameter, model.Summary,
    model.SummarySheet, model.SummaryColumn, review.Narrative, review.NarrativeUnit, review.NarrativeTerm, review.NarrativeRatio,
    review.Review, review.ReviewRatio, review.ReviewRate, review.ReviewWeights,
]


def reference(text: str | None = None) -> str:
    text = DOCS.read_text(encoding="utf-8") if text is None else text
    start = text.index("## The spec reference\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def schema_keys() -> set[str]:
    """Every property name of every object of the schema: the top level's and each definition's."""
    schema = spec_schema()
    keys = set(schema["properties"])
    for definition in schema["$defs"].values():
        keys |= set(definition.get("properties", {}))
    return keys


def undocumented(section: str) -> set[str]:
    return {key for key in schema_keys() if f"`{key}`" not in section}


def key_tables(section: str) -> list[list[list[str]]]:
    """Each key table as rows of cells (header and rule left out)."""
    tables: list[list[list[str]]] = []
    lines = section.splitlines()
    for n, line in enumerate(lines):
        if line.strip() != KEY_TABLE:
            continue
        rows = []
        for row in lines[n + 2:]:
            if not row.startswith("|"):
                break
            rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip())[1:-1]])
        tables.append(rows)
    return tables


def aliases(cls: type[BaseModel]) -> dict[str, str]:
    """The names a spec may write for each field: its alias (`for`, `checks`) and its own name unless that is only
    Python's (`for_`)."""
    names = {info.alias: name for name, info in cls.model_fields.items() if info.alias}
    return {**names, **{name: name for name in cls.model_fields if not name.endswith("_")}}


def shown(default: Any) -> str | None:
    """How the reference writes a literal default; None for a default it describes in words."""
    if default is None:
        return "—"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, str):
        return f"`{default}`" if default else '`""`'
    if isinstance(default, (int, float)):
        return f"`{default:g}`"
    if default == [] or default == {} or default == ():
        return f"`{'{}' if isinstance(default, dict) else '[]'}`"
    return None


def table_problems(section: str) -> list[str]:
    tables = key_tables(section)
    if len(tables) != len(TABLES):
        return [f"{len(tables)} key tables, expected {len(TABLES)} ({', '.join(c.__name__ for c in TABLES)})"]
    problems = []
    for cls, rows in zip(TABLES, tables, strict=True):
        fields = aliases(cls)
        for cells in rows:
            if len(cells) != 5:
                problems.append(f"{cls.__name__}: a row has {len(cells)} cells: {cells}")
                continue
            key_cell, required, default_cell = cells[:3]
            match = CODE.match(key_cell)
            key = match.group(1) if match else key_cell
            if key not in fields:
                if not (cls is model.Summary and key == "columns"):  # the 2026.1 flat summary, read into sheets
                    problems.append(f"{cls.__name__}: `{key}` is not a key of this part")
                continue
            info = cls.model_fields[fields[key]]
            if info.is_required() and required.startswith("no"):
                problems.append(f"{cls.__name__}.{key}: required in the model, 'no' in the docs")
            if not info.is_required() and required.startswith("yes") and "unless" not in required:
                problems.append(f"{cls.__name__}.{key}: optional in the model, 'yes' in the docs")
            if required.startswith("no") and info.default is not PydanticUndefined:
                expected = shown(info.default)
                if expected is not None and not default_cell.startswith(expected):
                    problems.append(f"{cls.__name__}.{key}: default {default_cell!r} in the docs, {expected} in the model")
    return problems


def test_every_schema_key_is_in_the_reference() -> None:
    section = reference()
    assert len(schema_keys()) > 80  # the walk reached the definitions, not just the top level
    assert undocumented(section) == set()


def test_a_key_left_out_of_the_reference_is_found() -> None:
    section = reference()
    assert undocumented(section.replace("`label_span`", "label_span")) == {"label_span"}
    assert undocumented(section.replace("`ratio_of`", "ratio_of")) == {"ratio_of"}


def test_each_key_table_matches_its_model() -> None:
    assert table_problems(reference()) == []


def test_a_wrong_default_or_key_in_a_table_is_found() -> None:
    section = reference()
    wrong_default = section.replace("| `orientation` | no | `portrait` |", "| `orientation` | no | `landscape` |")
    assert wrong_default != section
    assert table_problems(wrong_default) == ["Sheet.orientation: default '`landscape`' in the docs, `portrait` in the model"]
    wrong_key = section.replace("| `label_span` | no |", "| `label_spans` | no |")
    assert table_problems(wrong_key) == ["FieldItem: `label_spans` is not a key of this part"]
    wrong_required = section.replace("| `version` | yes |", "| `version` | no |")
    assert "TemplateInfo.version: required in the model, 'no' in the docs" in table_problems(wrong_required)


def test_the_function_list_is_the_engines() -> None:
    match = re.search(r"Supported functions: ([A-Z, \n]+);", reference())
    assert match, "the reference lists the supported functions"
    assert {name.strip() for name in match.group(1).split(",")} == set(FUNCTIONS)


def test_yaml_examples_parse() -> None:
    blocks = YAML_BLOCK.findall(reference())
    assert len(blocks) >= 2
    for text in blocks:
        assert isinstance(yaml.safe_load(text), dict), text
    with pytest.raises(yaml.YAMLError):  # the check can fail: a broken example is caught
        yaml.safe_load(blocks[0].replace("- {key: total", "- {key: total,,", 1) + "\n  bad: [")


def test_block_examples_load_in_a_spec(tmp_path: Path) -> None:
    """A YAML example that is a block (table:, fields:, …) is placed on a sheet of a small spec and loaded whole:
    every placeholder it names resolves."""
    kinds = {"title", "heading", "note", "fields", "table", "list", "rules", "checks"}
    examples = [yaml.safe_load(text) for text in YAML_BLOCK.findall(reference())]
    blocks = [example for example in examples if isinstance(example, dict) and set(example) <= kinds and len(example) == 1]
    assert blocks, "the reference has a block example"
    for block in blocks:
        spec = {"template": {"id": "docs-example", "version": "1", "title": "示例"},
                "constants": {"time_progress": {"label": "时间进度", "value": 0.5833}},
                "types": {"money": {"base": "number", "min": 0}, "ratio": {"base": "number"}},
                "sheets": [{"name": "表", "key": "main", "columns": [10] * 12, "blocks": [block]}]}
        path = tmp_path / "example.yaml"
        path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
        load_spec(path)
