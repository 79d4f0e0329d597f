"""Writing a spec: what loads builds, every problem names the YAML line, `xlkit spec check` and `xlkit spec schema`."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from xlkit.cli import main
from xlkit.errors import SpecError
from xlkit.form.load import builtin_spec_path, load_spec
from xlkit.form.placement import build_layout
from xlkit.form.schema import spec_schema
from xlkit.write.build import build_template
from xlkit.write.speccheck import spec_problems

TEMPLATES = builtin_spec_path().parent
BUILTIN = builtin_spec_path().read_text(encoding="utf-8")
BUNDLED = sorted([*TEMPLATES.glob("*.yaml"), *TEMPLATES.glob("archive/*.yaml")])


def edited(tmp_path: Path, old: str, new: str, name: str = "spec.yaml") -> Path:
    assert old in BUILTIN, old
    path = tmp_path / name
    path.write_text(BUILTIN.replace(old, new, 1), encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def test_a_spec_without_the_result_type_loads_and_builds(tmp_path):
    """The 校验 sheet's result cells need a `result` type: the language supplies it (and `text`) when left out."""
    path = edited(tmp_path, "  result: {base: text}\n", "")
    spec = load_spec(path)
    assert spec.supplied_types == ("result",)
    assert spec_problems(path) == []
    build_template(tmp_path / "t.xlsx", spec)
    assert (tmp_path / "t.xlsx").stat().st_size > 10_000


def test_a_supplied_type_places_the_form_as_the_written_one_does(tmp_path):
    """The bundled form writes `result` itself (its fingerprint, held by the golden snapshot, is unchanged); left out,
    the same cells with the same types are placed."""
    written, supplied = load_spec(), load_spec(edited(tmp_path, "  result: {base: text}\n", ""))
    assert written.supplied_types == ()
    assert written.fingerprint() != supplied.fingerprint()
    cells = [{k: (s.sheet, s.row, s.col, s.kind, s.type, s.formula) for k, s in build_layout(spec).fields.items()} for spec in (written, supplied)]
    assert cells[0] == cells[1]


def test_a_yaml_syntax_error_names_file_line_and_column(tmp_path):
    path = edited(tmp_path, "  result: {base: text}\n", "  result: {base: text\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert message.startswith(f"{path}:")
    assert "<unicode string>" not in message
    line, column = message[len(str(path)) + 1:].split(":")[:2]
    assert int(line) in range(line_of(path, "result: {base: text") , line_of(path, "result: {base: text") + 3)
    assert int(column) >= 1


def test_a_model_problem_names_the_yaml_line_of_its_key(tmp_path):
    path = edited(tmp_path, "type: phone, span: 2, required: true}", "type: phone, span: 2, requird: true}")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert f"{path}:{line_of(path, 'requird: true')}: sheets[1].blocks[3].fields[2][1].requird: 不认识的键（拼写有误，或放错了层级）" in str(info.value)


def test_a_layout_problem_names_the_yaml_line_too(tmp_path):
    path = edited(tmp_path, "{carryover}+{fiscal}", "{carryover}+{fiscl}")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert f"{path}:{line_of(path, '{fiscl}')}: sheets[2].blocks[2].table.columns[0].formula: 未知的字段 {{fiscl}}（解析为 'fiscl'）" in str(info.value)


def test_spec_check_lists_every_model_problem_with_its_line(tmp_path):
    path = edited(tmp_path, "type: phone, span: 2, required: true}", "type: phone, span: x, requird: true}")
    problems = spec_problems(path)
    assert len(problems) == 2
    assert all(p.startswith(f"{path}:{line_of(path, 'requird: true')}: sheets[1].blocks[3].fields[2][1].") for p in problems)
    with pytest.raises(SpecError, match=r"另有 1 处问题，xlkit spec check 全部列出"):
        load_spec(path)


def test_spec_check_command(tmp_path):
    good = TEMPLATES / "perf_self_eval.yaml"
    bad = edited(tmp_path, "{carryover}+{fiscal}", "{carryover}+{fiscl}")
    runner = CliRunner()
    result = runner.invoke(main, ["spec", "check", str(good)])
    assert result.exit_code == 0, result.output
    assert "通过" in result.output
    result = runner.invoke(main, ["spec", "check", str(good), str(bad), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert [s["problems"] == [] for s in data["specs"]] == [True, False]
    assert "未知的字段 {fiscl}" in data["specs"][1]["problems"][0]
    result = runner.invoke(main, ["spec", "check", str(tmp_path / "nothing.yaml")])
    assert result.exit_code == 1 and "无法读取表式文件" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_every_bundled_spec_validates_against_the_schema_and_passes_spec_check(path):
    jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), spec_schema())
    if path.parent == TEMPLATES:
        assert spec_problems(path) == []


def test_the_schema_is_strict_about_unknown_keys_and_types():
    schema = spec_schema()
    spec = yaml.safe_load(BUILTIN)
    spec["sheets"][0]["colums"] = [10]
    with pytest.raises(jsonschema.ValidationError, match="colums"):
        jsonschema.validate(spec, schema)
    spec = yaml.safe_load(BUILTIN)
    spec["types"]["money"]["base"] = "decimal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(spec, schema)
    spec = yaml.safe_load(BUILTIN)
    spec["supplied_types"] = ["result"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(spec, schema)


def test_spec_schema_command_writes_the_schema(tmp_path):
    out = tmp_path / "schema.json"
    result = CliRunner().invoke(main, ["spec", "schema", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(json.dumps(spec_schema()))


def test_rules_without_a_rules_block_are_refused(tmp_path):
    monitor = (Path(__file__).parent / "specs" / "monitor.yaml").read_text(encoding="utf-8")
    cut = monitor[monitor.index("  - name: 校验"):monitor.index("rules:\n")]
    path = tmp_path / "m.yaml"
    path.write_text(monitor.replace(cut, ""), encoding="utf-8")
    with pytest.raises(SpecError, match="没有哪个工作表以 rules 块（校验表）结尾"):
        load_spec(path)


def test_required_blanks_needs_for_sheets(tmp_path):
    path = edited(tmp_path, "for_sheets: true, required_blanks: true}", "required_blanks: true}")
    with pytest.raises(SpecError, match="required_blanks 规则按工作表计数：请加上 for_sheets: true"):
        load_spec(path)


def test_a_validation_excel_cannot_take_is_a_problem_of_spec_check(tmp_path):
    path = edited(tmp_path, "      validate: custom\n", "      validate: costum\n")
    problems = spec_problems(path)  # one per trial build (default, largest and smallest row counts)
    assert problems and all("types.money.validation: Excel 不接受这样的数据验证" in p and "costum" in p for p in problems)
