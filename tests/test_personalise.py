"""Distribution's fast path (write/personalise.py) against the plain path: random rosters distributed both ways give
the same workbooks, part by part (creation times aside), and a personalised workbook reads, fills and checks as any."""

from __future__ import annotations

import csv
import re
import zipfile
from fnmatch import fnmatch
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlkit.bureau.distribute import FastWriter, _content_digest, distribute
from xlkit.bureau.roster import load_roster
from xlkit.demo.sample_data import generate_unit_data
from xlkit.form.load import load_spec
from xlkit.form.params import make_params
from xlkit.form.placement import build_layout
from xlkit.form.registry import SpecRegistry
from xlkit.intake.check import check_file
from xlkit.intake.identify import open_template_workbook
from xlkit.write.fill import fill_workbook
from xlkit.write.personalise import Deflated, Shape, shape_key

COLUMNS = ["unit_code", "unit_name", "parent_code", "parent_name", "sub_units", "projects", "contact_name", "contact_phone",
           "key_projects"]
TIMES = re.compile(r"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>")
SPECIAL = "&<>\"'"
# names as rosters have them, and as they should not: XML's special characters, a header past Excel's 255 characters
# once its & are doubled, white space at the ends, a line break, a leading =
NAMES = st.one_of(
    st.text(alphabet="岳阳市城管中心局所" + SPECIAL + "AZaz09 ", min_size=1, max_size=30).filter(lambda s: s.strip()),
    st.sampled_from(["&" * 130, "A&B<C>D\"E'F", "=SUM(A1)", " 前后有空格 ", "岳阳市" * 20, "第一行\n第二行"]))
TEXTS = st.one_of(st.none(), st.text(alphabet="目标完成率达到" + SPECIAL + "\n 0123456789", max_size=400),
                  st.sampled_from(["确保" * 200, "a" * 600]))


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: TIMES.sub("", archive.read(name).decode("utf-8")).encode() if name == "docProps/core.xml"
                else archive.read(name) for name in archive.namelist()}


def assert_same_workbooks(fast: Path, plain: Path) -> None:
    a, b = parts(fast), parts(plain)
    assert list(a) == list(b)
    for name in a:
        assert a[name] == b[name], (fast.name, name)


@st.composite
def rosters(draw: st.DrawFn) -> tuple[list[list[str]], dict[str, dict[str, object]]]:
    """Units of a few shapes (sub-units, project counts, key projects), optional columns often empty, and last
    year's figures and texts for some."""
    count = draw(st.integers(2, 7))
    shapes = draw(st.lists(st.tuples(st.sampled_from(["", "二级机构1；二级机构2", "东片区&所"]), st.sampled_from(["", "3", "5"]),
                                      st.sampled_from(["", "重点项目<甲>"])), min_size=1, max_size=3))
    rows, previous = [], {}
    for n in range(count):
        sub_units, projects, key_projects = shapes[draw(st.integers(0, len(shapes) - 1))]
        code = f"4306{n:05d}"
        optional = [draw(st.sampled_from(["", value])) for value in ("430600300", "岳阳市城市管理&综合执法局", "联系人'甲'", "0730-1")]
        rows.append([code, draw(NAMES), optional[0], optional[1], sub_units, projects, optional[2], optional[3], key_projects])
        if draw(st.booleans()):
            previous[code] = {"income.all.total": draw(st.floats(0, 1e9, allow_nan=False)), "score": 91.5,
                              "__texts__": draw(st.lists(TEXTS, min_size=1, max_size=4))}
    return rows, previous


def last_year(spec, previous: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    """Each unit's texts put on the fields the spec carries over (of the base layout: their ids are the same)."""
    ids = [s.id for s in build_layout(spec, make_params(spec)).inputs() if any(fnmatch(s.id, p) for p in spec.previous.texts)]
    out = {}
    for code, values in previous.items():
        texts = values.pop("__texts__")
        assert isinstance(texts, list)
        out[code] = {**values, **{field_id: text for field_id, text in zip(ids, texts, strict=False) if text is not None}}
    return out


def one_shape(roster, folder: Path):  # type: ignore[no-untyped-def]
    """The sample roster's units without the columns that set row counts and item names: all of one shape, so all
    but the first are personalised."""
    rows = [[u.code, u.name, u.parent_code, u.parent_name, "", "", u.contact_name, u.contact_phone, ""] for u in roster.units]
    return load_roster(write_roster(folder / "one_shape.csv", rows))


def write_roster(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return path


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=rosters())
def test_a_personalised_workbook_is_the_one_the_plain_path_writes(spec, tmp_path_factory, case):
    rows, previous = case
    folder = tmp_path_factory.mktemp("roster")
    roster = load_roster(write_roster(folder / "roster.csv", rows))
    last = last_year(spec, {code: dict(values) for code, values in previous.items()})
    fast = distribute(spec, roster, 2019, folder / "fast", previous=last, issuer="岳阳市财政局", password="密码&1")
    plain = distribute(spec, roster, 2019, folder / "plain", previous=last, issuer="岳阳市财政局", password="密码&1", fast=False)
    assert [(r.unit.code, r.path.name, r.status, r.sha256) for r in fast] == [
        (r.unit.code, r.path.name, r.status, r.sha256) for r in plain]
    for a, b in zip(fast, plain, strict=True):
        assert_same_workbooks(a.path, b.path)
        assert a.sha256 == _content_digest(a.path)


def test_every_file_is_accounted_for_when_run_again(spec, roster, tmp_path):
    """The manifest's digest is the file's: a second run finds every personalised file unchanged, and a changed
    one is refused, then replaced with --overwrite, as on the plain path."""
    roster = one_shape(roster, tmp_path)
    first = distribute(spec, roster, 2019, tmp_path)
    assert {r.status for r in first} == {"created"}
    again = distribute(spec, roster, 2019, tmp_path)
    assert [r.status for r in again] == ["unchanged"] * len(first)
    other = distribute(spec, roster, 2020, tmp_path)
    assert {r.status for r in other} == {"refused"}
    replaced = distribute(spec, roster, 2020, tmp_path, overwrite=True)
    assert {r.status for r in replaced} == {"replaced"}
    assert [r.sha256 for r in replaced] == [_content_digest(r.path) for r in replaced]


def test_a_personalised_workbook_opens_fills_and_checks_clean(spec, roster, tmp_path):
    """openpyxl opens it; filled with a unit's data it checks with no issue, and reads back as the plain build."""
    roster = one_shape(roster, tmp_path)
    assert len({shape_key(make_params(spec, {"unit_code": u.code})) for u in roster.units}) == 1
    results = distribute(spec, roster, 2019, tmp_path / "sent")
    plain = {r.unit.code: r.path for r in distribute(spec, roster, 2019, tmp_path / "plain", fast=False)}
    registry = SpecRegistry([spec])
    for item in results[1:4]:  # the first of its shape is the plain path's own
        book = openpyxl.load_workbook(item.path)
        assert book["_xlkit"].sheet_state == "veryHidden"
        layout = open_template_workbook(item.path, spec).layout
        data = generate_unit_data(layout, item.unit.code)
        filled, reference = tmp_path / f"filled_{item.path.name}", tmp_path / f"reference_{item.path.name}"
        fill_workbook(item.path, data, filled, spec)
        fill_workbook(plain[item.unit.code], data, reference, spec)
        report = check_file(filled, registry)
        assert report.issues == [], report.issues
        assert report.identity.unit_name == item.unit.name and report.identity.unit_code == item.unit.code
        assert report.values == check_file(reference, registry).values


def test_runs_a_unit_leaves_alone_keep_their_compressed_bytes(spec, roster, tmp_path):
    """Only the runs a unit changes are compressed again; the zip is one a reader takes whole."""
    units = roster.units[:3]
    params = [make_params(spec, {"unit_code": u.code, "unit_name": u.name, "year": 2019}) for u in units]
    assert len({shape_key(p) for p in params}) == 1
    shape = Shape(build_layout(spec, params[0]), {}, "", tmp_path / "first.xlsx")
    compress = Deflated.compress
    fresh: list[int] = []

    def counting(self, runs):  # type: ignore[no-untyped-def]
        fresh.append(sum(len(text) for text, kept in runs if not kept))
        return compress(self, runs)

    Deflated.compress = counting  # type: ignore[method-assign]
    try:
        shape.write(params[1], {}, tmp_path / "second.xlsx")
    finally:
        Deflated.compress = compress  # type: ignore[method-assign]
    total = sum(len(run.text) for runs in shape.runs.values() for run in runs)
    assert 0 < sum(fresh) < total / 5
    with zipfile.ZipFile(tmp_path / "second.xlsx") as archive:
        assert archive.testzip() is None
    plain = tmp_path / "plain.xlsx"
    FastWriter(spec, "").write(params[1], {}, plain)  # a new writer: the plain path writes a shape's first unit
    assert_same_workbooks(tmp_path / "second.xlsx", plain)


@pytest.mark.parametrize("name", ["project_target.yaml", "project_self_eval.yaml"])
def test_other_forms_personalise_too(name, tmp_path):
    from xlkit.form.load import builtin_spec_path

    spec = load_spec(builtin_spec_path().parent / name)
    roster = load_roster(Path(__file__).resolve().parents[1] / "samples" / "projects.csv")
    fast = distribute(spec, roster, 2019, tmp_path / "fast", issuer="岳阳市财政局")
    plain = distribute(spec, roster, 2019, tmp_path / "plain", issuer="岳阳市财政局", fast=False)
    assert len(fast) == len(plain) > 1
    for a, b in zip(fast, plain, strict=True):
        assert_same_workbooks(a.path, b.path)


def test_processes_write_the_same_files_in_roster_order(spec, roster, tmp_path):
    """Over two forked processes (each taking whole shapes) the results come back in the roster's order, the files
    the same as on one core; progress hears of every unit."""
    heard: list[str] = []
    parallel = distribute(spec, roster, 2019, tmp_path / "two", jobs=2, progress=lambda r: heard.append(r.unit.code))
    single = distribute(spec, roster, 2019, tmp_path / "one", jobs=1)
    assert [r.unit.code for r in parallel] == [u.code for u in roster.units] and sorted(heard) == sorted(u.code for u in roster.units)
    assert [(r.status, r.sha256) for r in parallel] == [(r.status, r.sha256) for r in single]
    for a, b in zip(parallel, single, strict=True):
        assert_same_workbooks(a.path, b.path)
