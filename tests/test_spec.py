"""A wrong spec gets one clear error naming the spec path."""

from __future__ import annotations

from pathlib import Path

import pytest

from xlkit.errors import SpecError
from xlkit.form.load import builtin_spec_path, load_spec

BUILTIN = builtin_spec_path().read_text(encoding="utf-8")


def load_edited(tmp_path: Path, old: str, new: str):
    assert old in BUILTIN, old
    path = tmp_path / "spec.yaml"
    path.write_text(BUILTIN.replace(old, new, 1), encoding="utf-8")
    return load_spec(path)


def test_builtin_spec_loads_and_has_a_stable_fingerprint():
    spec = load_spec()
    assert spec.template.id == "perf-self-eval"
    assert spec.fingerprint() == load_spec().fingerprint()
    assert len(spec.fingerprint()) == 16


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("{carryover}+{fiscal}", "{carryover}+{fiscl}", "sheets[2].blocks[2].table.columns[0].formula: 未知的字段 {fiscl}"),
        ("ROUND({basic}+{project},2)", "ROUND({basic}+,2)", "sheets[2].blocks[3].table.columns[0].formula:"),
        ("ROUND({basic}+{project},2)", "FOO({basic})", "公式 'FOO({basic})' 有误：不支持的函数 FOO"),
        ("type: phone, span: 2, required: true}", "type: fone, span: 2, required: true}", "sheets[1].blocks[3].fields[2][1].type: 未知的类型 'fone'（已定义："),
        ("  - name: 收支情况\n", "  - nme: 收支情况\n", "sheets[2].name: 缺少必填项"),
        ("{text: 其中：, cols: 5}]", "{text: 其中：, cols: 6}]", "sheets[2].blocks[2].table.header[0]: 超出了表格的 "),
        ("repeat: sub_units}", "repeat: sub_unitz}", "rows[2].repeat: 指向未定义的参数 'sub_unitz'（已定义：sub_units, projects"),
        ("{id: staff, name:", "{id: income_rows, name:", ""),  # a duplicated check id is caught below
        ("default: 2, min: 0, max: 40", "default: 50, min: 0, max: 40", "parameters.sub_units: default 50 超出 0..40 的范围"),
        ("for: sangong, op:", "for: nosuch, op:", "rules[11].for: 未知的表格 'nosuch'"),
        ("{id: duties, label: 职能职责概述", "{id: Duties, label: 职能职责概述", "字段编号 'Duties' 须为小写 ASCII 字母、数字和下划线"),
        ('formula: "ROUND({personnel}+{public},2)"', 'formula: "ROUND({personnel}+{public}+{total},2)"',
         "循环引用：expense.all.total → expense.all.basic → expense.all.total"),
        ('formula: "ROUND({basic}+{project},2)"', 'formula: "ROUND({basic}+SUM({nosuch.*.total}),2)"', "{nosuch.*.total} 应写作 TABLE.*.COLUMN（或 TABLE.<行>*.COLUMN，如 quantity*），TABLE 为已定义的表格"),
        ("default: 2, min: 0, max: 40", "default: 2, min: 0, max: 5000", "parameters.sub_units.max: 不能大于 1000（实际为 5000）"),
        ("default: 2, min: 0, max: 40", "default: 2, min: 3, max: 1", "parameters.sub_units: default 2 超出 3..1 的范围"),
    ],
)
def test_spec_errors_name_the_path(tmp_path, old, new, message):
    if not message:
        with pytest.raises(SpecError, match=r"rules\[16\]\.left: 字段编号 'check\.income_rows\.left' 重复使用"):
            load_edited(tmp_path, old, new)
        return
    with pytest.raises(SpecError) as info:
        load_edited(tmp_path, old, new)
    assert message in str(info.value)
    assert str(tmp_path / "spec.yaml") in str(info.value)


def test_not_yaml_and_not_a_mapping(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("template: [unclosed", encoding="utf-8")
    with pytest.raises(SpecError, match="不是有效的 YAML："):
        load_spec(bad)
    bad.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(SpecError, match="表式应为 YAML 映射"):
        load_spec(bad)
    with pytest.raises(SpecError, match="无法读取表式文件"):
        load_spec(tmp_path / "missing.yaml")


def test_grade_bands_come_from_the_spec(tmp_path):
    from xlkit.form.compute import calculator
    from xlkit.form.placement import build_layout

    spec = load_edited(tmp_path, "- {min: 90, label: 优秀}", "- {min: 95, label: 优秀}")
    results = calculator(build_layout(spec)).compute({"score": 92})
    assert results["grade"] == "良好"
    assert calculator(build_layout(load_spec())).compute({"score": 92})["grade"] == "优秀"


def test_a_cycle_is_reported_by_every_command(tmp_path):
    """`fields` and `build` load the spec the same way: a circular formula never reaches the builder."""
    from click.testing import CliRunner

    from xlkit.cli import main

    path = tmp_path / "spec.yaml"
    path.write_text(BUILTIN.replace('formula: "ROUND({personnel}+{public},2)"', 'formula: "ROUND({personnel}+{public}+{total},2)"', 1),
                    encoding="utf-8")
    for args in (["fields", str(path)], ["build", str(path), "-o", str(tmp_path / "t.xlsx")]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert "循环引用：" in result.output and "Traceback" not in result.output
        assert "unexpected" not in result.output and "内部错误" not in result.output


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("default: 2, min: 0, max: 40", "default: 2, min: abc, max: 40", "parameters.sub_units.min: 应为整数（实际为 「abc」）"),
        ("type: score, total: none}", "type: score, total: nada}", "total: 应为以下之一：'auto'、'none'、'input'（实际为 「nada」）"),
        ("{key: all, label: 局机关及二级机构汇总, total: true}", "{key: all, label: 局机关及二级机构汇总, total: maybe}",
         "rows[0].total: 应为 true 或 false（实际为 「maybe」）（另有 4 处问题，xlkit spec check 全部列出）"),
    ],
)
def test_a_model_problem_is_said_in_chinese_with_what_was_found(tmp_path, old, new, message):
    """The bureau writes its own form in YAML: what the model finds (a wrong type, a word not among the choices) is
    said in Chinese with the value found, after the file, line and spec path."""
    with pytest.raises(SpecError) as info:
        load_edited(tmp_path, old, new)
    assert message in str(info.value) and "Input should" not in str(info.value)
