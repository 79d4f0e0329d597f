"""Load a spec and validate it completely: the model (pydantic), then what only a trial layout shows.

This module sits above the layout engine, so that loading a spec never needs
the layout the other way round; every problem is a SpecError naming the spec
path, never a bare Python error.
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..caches import clear as forget_all
from ..caches import memo, proven
from ..errors import SpecError, XlkitError
from .compute import formula_order
from .layout import Layout
from .params import make_params
from .placement import build_layout
from .spec import Spec
from .spec_review import narrative_problem, review_problem
from .specsource import located, yaml_problem


def _path(loc: tuple[Any, ...]) -> str:
    """Turn a pydantic location into `sheets[2].blocks[4].table.columns[3].formula`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("str", "list[str]", "int", "HeaderCell", "list[HeaderCell]") or "[" in str(part):
            continue  # union branch names
        else:
            out += ("." if out else "") + str(part)
    return out


BUILTIN_SPEC = "perf_self_eval.yaml"
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's safe loader, ten times faster, where it is built in


def builtin_spec_path() -> Path:
    """The bundled form: `templates/` of the source tree, shipped as package data `xlkit.templates`."""
    package = Path(__file__).resolve().parents[1]
    source_tree = package.parent / "templates" / BUILTIN_SPEC
    return source_tree if source_tree.exists() else package / "templates" / BUILTIN_SPEC


def load_spec(source: str | Path | None = None) -> Spec:
    """Load and validate a spec; every problem becomes a SpecError naming its path."""
    path = Path(source) if source is not None else builtin_spec_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{path}: 无法读取表式文件：{exc.strerror or exc}") from None
    spec = _load_text(str(path), text)
    if any(load_spec(_composed_path(path, entry.spec)).fingerprint() != entry.fingerprint for entry in spec.compose):
        forget_all()  # a form it composes has changed since: everything afresh (its layouts too)
        spec = _load_text(str(path), text)
    return spec


@memo(32)  # a form composed by others (the project form) is loaded and checked once per run, not per user
def _load_text(source: str, text: str) -> Spec:
    path = Path(source)
    problems = model_problems(source, text)
    if isinstance(problems, Spec):
        spec = problems
    else:
        more = f"（另有 {len(problems) - 1} 处问题，xlkit spec check 全部列出）" if len(problems) > 1 else ""
        raise SpecError(problems[0] + more)
    try:
        spec = _resolve_watch(_load_composed(spec, path))
        # once per spec as resolved (and each form it composes) and per xlkit: a second at every start-up otherwise
        content = [spec.model_dump_json(), repr(spec.supplied_types), *[e.loaded.model_dump_json() for e in spec.compose if e.loaded]]
        proven("spec-check", "\0".join(content), lambda: check_spec(spec, path))
    except SpecError as exc:
        raise SpecError(located(source, text, str(exc).removeprefix(f"{path}: "))) from None
    return spec


# what pydantic finds in a spec's model, said in Chinese by the kind of finding (its `type`); any other kind in its
# own words, a validator of the model in the validator's
MODEL_ERRORS = {
    "missing": "缺少必填项", "extra_forbidden": "不认识的键（拼写有误，或放错了层级）",
    "string_type": "应为文本", "int_type": "应为整数", "int_parsing": "应为整数", "int_from_float": "应为整数",
    "float_type": "应为数字", "float_parsing": "应为数字", "bool_type": "应为 true 或 false", "bool_parsing": "应为 true 或 false",
    "list_type": "应为列表（每项以 - 开头）", "dict_type": "应为映射（键: 值）", "model_type": "应为映射（键: 值）",
    "model_attributes_type": "应为映射（键: 值）", "literal_error": "应为以下之一：{expected}",
    "less_than_equal": "不能大于 {le}", "greater_than_equal": "不能小于 {ge}", "less_than": "应小于 {lt}", "greater_than": "应大于 {gt}",
    "too_short": "至少要有 {min_length} 项", "too_long": "至多 {max_length} 项", "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "至多 {max_length} 个字符", "string_pattern_mismatch": "格式不符（应匹配 {pattern}）",
}
FOUND_NOT_SHOWN = {"missing", "extra_forbidden"}  # the input is the enclosing mapping: nothing to show


def _said(error: Any) -> str:
    """A model error as `spec path: what`; a check of the whole spec names its own path in its message."""
    template = MODEL_ERRORS.get(str(error.get("type", "")))
    try:
        context = {k: str(v).replace(" or ", ", ").replace(", ", "、") if k == "expected" else str(v)
                   for k, v in (error.get("ctx") or {}).items()}  # 'a', 'b' or 'c' as 'a'、'b'、'c'
        message = template.format(**context) if template else str(error["msg"]).removeprefix("Value error, ")
    except (KeyError, IndexError):  # a context this pydantic words otherwise
        message = str(error["msg"])
    if template and error.get("type") not in FOUND_NOT_SHOWN:
        found = error.get("input")
        shown = f"「{found}」" if isinstance(found, str) else repr(found)
        message += f"（实际为 {shown if len(shown) <= 40 else shown[:39] + '…'}）"
    return f"{_path(error['loc'])}: {message}" if error["loc"] else message


def model_problems(source: str, text: str) -> Spec | list[str]:
    """The spec's model, or every problem the YAML parser and the model find, each as `file:line: spec path: what`."""
    try:
        raw = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        return [yaml_problem(source, exc)]
    if not isinstance(raw, dict):
        return [f"{source}: 表式应为 YAML 映射（键: 值），含 template、types、sheets 等键"]
    try:
        return Spec.model_validate(raw)
    except ValidationError as exc:
        return [located(source, text, _said(error)) for error in exc.errors()]


def _resolve_watch(spec: Spec) -> Spec:
    """A watch list's threshold given as a constant ("{const.time_progress}") takes the constant's value."""
    if spec.summary is None or not any(isinstance(w.below, str) for sheet in spec.summary.sheets for w in sheet.watch):
        return spec
    sheets = []
    for sheet in spec.summary.sheets:
        watch = []
        for w in sheet.watch:
            if isinstance(w.below, str):
                name = w.below.strip().removeprefix("{").removesuffix("}").removeprefix("const.")
                if not w.below.strip().startswith("{const.") or name not in spec.constants:
                    raise SpecError(f"summary.sheets[{sheet.name}].watch: below 应为数字或表式的常量 {{const.名称}}"
                                    f"（已定义：{', '.join(spec.constants) or '无'}），实际为 {w.below!r}")
                w = w.model_copy(update={"below": spec.constants[name].value})
            watch.append(w)
        sheets.append(sheet.model_copy(update={"watch": watch}))
    return spec.model_copy(update={"summary": spec.summary.model_copy(update={"sheets": sheets})})


def _load_composed(spec: Spec, path: Path) -> Spec:
    """Each composed spec loaded from beside this one (else from the bundled templates); its types and lists join
    this spec's under `<id>:` (so a returned workbook's cells validate by them) and its fingerprint becomes part of
    this form's."""
    if not spec.compose:
        return spec
    types, lists, composed = dict(spec.types), dict(spec.lists), []
    for k, entry in enumerate(spec.compose):
        other_path = _composed_path(path, entry.spec)
        other = load_spec(other_path) if other_path.resolve() != path.resolve() else None
        if other is None or other.compose:
            raise SpecError(f"{path}: compose[{k}].spec: {entry.spec} 应为另一份不含 compose 的表式")
        missing = [name for name in entry.sheets if name not in [s.name for s in other.sheets]]
        if missing:
            raise SpecError(f"{path}: compose[{k}].sheets: {other.template.id} 没有工作表 {', '.join(missing)}")
        if entry.repeat not in spec.parameters:
            raise SpecError(f"{path}: compose[{k}].repeat: 指向未定义的参数 {entry.repeat!r}（已定义：{', '.join(spec.parameters) or '无'}）")
        for name, values in other.lists.items():
            lists[f"{entry.id}:{name}"] = values
        for name, vtype in other.types.items():
            if name in other.supplied_types:
                continue
            types[f"{entry.id}:{name}"] = vtype.model_copy(update={"choices": f"{entry.id}:{vtype.choices}"}) if vtype.choices else vtype
        composed.append(entry.model_copy(update={"fingerprint": other.fingerprint(), "loaded": other}))
    return spec.model_copy(update={"types": types, "lists": lists, "compose": composed})


def _composed_path(path: Path, name: str) -> Path:
    """A composed spec beside the one composing it; else (a spec copied elsewhere) the bundled form of that name."""
    beside = path.parent / name
    return beside if beside.exists() else builtin_spec_path().parent / name


def check_spec(spec: Spec, path: Path) -> None:
    """What the model alone cannot say: every placeholder, table and type resolves, no formula depends on itself,
    at the default row counts and at the largest (a formula may reach rows only larger counts create)."""
    try:
        if spec.rules and not any(block.rules for sheet in spec.sheets for block in sheet.blocks):
            raise SpecError("rules: 表式写了 rules，但没有哪个工作表以 rules 块（校验表）结尾，规则无处安放")
        for counts in trial_counts(spec):
            layout = build_layout(spec, make_params(spec, counts=counts))
            formula_order(layout)
            for slot in layout.fields.values():
                if slot.type not in spec.types:
                    raise SpecError(f"{slot.spec_path}: 未知的类型 {slot.type!r}（已定义：{', '.join(spec.types)}）")
        _check_summary(spec, build_layout(spec))
        _check_previous(spec, build_layout(spec))
        problem = narrative_problem(spec.narrative, build_layout(spec).field_ids) if spec.narrative else None
        if problem:
            raise SpecError(problem)
        problem = review_problem(spec.review, build_layout(spec).field_ids, [b.label for b in spec.grades]) if spec.review else None
        if problem:
            raise SpecError(problem)
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from None
    except XlkitError as exc:
        raise SpecError(f"{path}: parameters: {exc}") from None


def trial_counts(spec: Spec) -> list[dict[str, int]]:
    """The default row counts, the largest (a formula may reach rows only they create) and the smallest (a table
    left without rows)."""
    trials = [{key: getattr(p, bound) for key, p in spec.parameters.items()} for bound in ("default", "max", "min")]
    return [counts for k, counts in enumerate(trials) if counts not in trials[:k]]


def _check_previous(spec: Spec, layout: Layout) -> None:
    for k, figure in enumerate(spec.previous.figures):
        if figure.field not in layout.fields:
            raise SpecError(f"previous.figures[{k}].field: 未知的字段 {figure.field!r}")
        if figure.rule is not None and figure.rule not in {r.id for r in spec.rules}:
            raise SpecError(f"previous.figures[{k}].rule: 未知的规则 {figure.rule!r}")
    inputs = [s.id for s in layout.inputs()]
    for k, pattern in enumerate(spec.previous.texts):
        if not any(fnmatch(f, pattern) for f in inputs):
            raise SpecError(f"previous.texts[{k}]: 没有填报字段与 {pattern!r} 相符")


def _check_summary(spec: Spec, layout: Layout) -> None:
    if spec.summary is None:
        return
    known = set(layout.fields)
    for k, column in enumerate(spec.summary.columns):
        path = f"summary.columns[{k}]"
        if column.type is not None and column.type not in spec.types:
            raise SpecError(f"{path}.type: 未知的类型 {column.type!r}（已定义：{', '.join(spec.types)}）")
        if column.field is not None and column.field not in known:
            raise SpecError(f"{path}.field: 未知的字段 {column.field!r}")
        if column.count is not None and not any(fnmatch(f, column.count) for f in known):
            raise SpecError(f"{path}.count: {column.count!r} 没有匹配任何字段")
    for sheet in spec.summary.sheets:
        for watch in sheet.watch:
            if watch.field not in [c.field for c in sheet.columns if c.field]:
                raise SpecError(f"summary.sheets[{sheet.name}].watch: {watch.field!r} 不是该汇总表的列")
    for k, indicator in enumerate(spec.summary.indicators):
        for side in ("numerator", "denominator"):
            if getattr(indicator, side) not in known:
                raise SpecError(f"summary.indicators[{k}].{side}: 未知的字段 {getattr(indicator, side)!r}")
    if spec.summary.ranking is not None and spec.summary.ranking not in known:
        raise SpecError(f"summary.ranking: 未知的字段 {spec.summary.ranking!r}")
    charts = spec.summary
    for k, field_id in enumerate(charts.structure_chart.fields if charts.structure_chart else []):
        if field_id not in [c.field for c in spec.summary.columns]:
            raise SpecError(f"summary.structure_chart.fields[{k}]: {field_id!r} 不是汇总列（summary.columns 中没有）")
    if charts.grade_chart and not spec.grades:
        raise SpecError("summary.grade_chart: 表式没有 grades:（等次划分），无从统计等次")
    if charts.grade_chart and charts.grade_chart.field not in [c.field for c in spec.summary.columns]:
        raise SpecError(f"summary.grade_chart.field: {charts.grade_chart.field!r} 不是汇总列（summary.columns 中没有）")
