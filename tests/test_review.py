"""审核 across units (issue #26, part 3): held-out cases written here — an outlier in a department of ten, two copied
reports among twenty, an inflated score, a jump left without 说明 — and the seed and demo returns raise no copy or
score alarm."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st

from xlkit.bureau.consolidate import Consolidation, FileStatus, consolidate
from xlkit.bureau.copies import Text, _without, near_copies
from xlkit.bureau.review import review, robust_scores
from xlkit.bureau.review_sheet import SHEET, review_sheet
from xlkit.bureau.sheets import Formats
from xlkit.errors import SpecError
from xlkit.form.load import load_spec
from xlkit.intake.report import Issue

SUBJECTS = ["本单位", "我局", "中心", "各科室", "项目组", "机关", "下属单位", "业务部门"]
VERBS = ["认真落实", "扎实推进", "稳步开展", "积极完成", "持续加强", "全面推行", "深入实施", "严格执行"]
OBJECTS = ["预算绩效管理", "内部控制制度", "政府采购程序", "资产清查工作", "专项资金监管", "信息化平台建设", "人员培训计划",
           "安全生产检查", "服务质量评价", "档案规范管理", "公务接待标准", "车辆使用登记"]
ENDINGS = ["取得明显成效", "效果良好", "群众满意度提高", "管理水平提升", "未发生违规问题", "形成长效机制", "工作效率提高"]
PLACES = "东西南北城乡江湖山河桥路街巷园林港站楼馆院校区县镇村"
WORKS = ["改造", "维修", "巡查", "清运", "绿化", "照明", "排水", "养护", "监测", "宣传", "培训", "普查", "整治", "保洁", "执法"]


def report(rng: random.Random, name: str, sentences: int = 40) -> str:
    """A plausible report of its own: sentences drawn from shared phrases (as real reports share them), with the
    unit's name and figures in it."""
    parts = [f"{name}年度工作总结。"]
    for _ in range(sentences):
        where = "".join(rng.choice(PLACES) for _ in range(3))  # its own places and works: what makes a report its own
        parts.append(f"{rng.choice(SUBJECTS)}{rng.choice(VERBS)}{rng.choice(OBJECTS)}，{rng.randint(1, 99)}项任务{rng.choice(ENDINGS)}；"
                     f"{where}{rng.choice(WORKS)}{rng.choice(WORKS)}工程支出{rng.uniform(1, 500):.2f}万元。")
    return "".join(parts)


def unit_row(k: int, department: str, rng: random.Random, **values: Any) -> dict[str, Any]:
    code, name = f"4306{k:05d}", f"示例单位{k}中心"
    budget = round(rng.uniform(100, 400), 2)
    row = {"unit_code": code, "unit_name": name, "department": department, "status": "accepted", "file": f"{code}.xlsx",
           "staff.actual": rng.randint(20, 40), "expense.all.public": 0.0, "expense.all.project": round(rng.uniform(300, 400), 2),
           "expense.all.total": round(rng.uniform(900, 1000), 2), "sangong.all.total": 0.0,
           "projects.total.budget": budget, "projects.total.spent": round(budget * rng.uniform(0.9, 1.0), 2),
           "score": rng.randint(80, 89), "achievements": report(rng, name), "contact.name": f"联系人{k}", "contact.phone": f"1380000{k:04d}"}
    row["expense.all.public"] = round(row["staff.actual"] * rng.uniform(0.9, 1.1), 2)  # about 1 万元 a person
    row["sangong.all.total"] = round(row["staff.actual"] * rng.uniform(0.09, 0.11), 2)
    row.update(values)
    return row


def make(spec: Any, rows: list[dict[str, Any]], previous: dict[str, dict[str, Any]] | None = None,
         issues: dict[str, list[Issue]] | None = None) -> Consolidation:
    files = [FileStatus(r["file"], "accepted", "", r["unit_code"], r["unit_name"], r["department"], "2024", in_totals=True,
                        issues=(issues or {}).get(r["unit_code"], [])) for r in rows]
    return Consolidation(spec, "2024", files, pd.DataFrame(rows), previous=previous or {})


def twenty(spec: Any, seed: int = 7, **changes: dict[str, Any]) -> list[dict[str, Any]]:
    """Twenty units in two departments of ten, each with a report of its own."""
    rng = random.Random(seed)
    rows = [unit_row(k, "城管局" if k < 10 else "教育局", rng) for k in range(20)]
    for k, values in changes.items():
        rows[int(k[1:])].update(values)
    return rows


def kinds(result: Any, kind: str) -> list[str]:
    return [s.unit_code for s in result.signals if s.kind == kind]


def test_twenty_units_of_their_own_raise_nothing(spec: Any) -> None:
    result = review(make(spec, twenty(spec)))
    assert result.signals == []
    assert any("人均公用经费" in note and "实有人数" in note for note in result.notes)  # says which figures are compared


def test_an_outlier_in_a_department_of_ten(spec: Any) -> None:
    rows = twenty(spec)
    rows[3]["expense.all.public"] = rows[3]["staff.actual"] * 5.0  # 5 万元 a person against about 1
    result = review(make(spec, rows))
    assert kinds(result, "outlier") == [rows[3]["unit_code"]]
    signal = result.signals[0]
    assert signal.subject == "人均公用经费" and "本部门 10 个单位中位数" in signal.figures and "全部单位 20 个单位中位数" in signal.figures
    assert "高出" in signal.figures and signal.weight == spec.review.weights.outlier


def test_one_extreme_unit_does_not_hide_another(spec: Any) -> None:
    rows = twenty(spec)
    rows[2]["expense.all.public"] = rows[2]["staff.actual"] * 500.0
    rows[4]["expense.all.public"] = rows[4]["staff.actual"] * 3.0
    assert kinds(review(make(spec, rows)), "outlier") == [rows[2]["unit_code"], rows[4]["unit_code"]]


def test_a_group_too_small_is_not_judged_and_said_so(spec: Any) -> None:
    rng = random.Random(3)
    rows = [unit_row(k, "小部门", rng) for k in range(4)]
    rows[0]["expense.all.public"] = rows[0]["staff.actual"] * 50.0
    result = review(make(spec, rows))
    assert kinds(result, "outlier") == []
    assert any("单位少于 5 个不作比较" in note and "小部门（4 个）" in note for note in result.notes)


def test_two_copied_reports_among_twenty(spec: Any) -> None:
    rows = twenty(spec)
    source = rows[3]["achievements"].replace(rows[3]["unit_name"], rows[15]["unit_name"])
    copied = source.replace("。", "，").replace("1", "7").replace("5", "6") + "另外，本年度新增工作一项。"
    rows[15]["achievements"] = copied
    result = review(make(spec, rows))
    assert sorted(kinds(result, "copy")) == sorted([rows[3]["unit_code"], rows[15]["unit_code"]])
    signal = next(s for s in result.signals if s.kind == "copy" and s.unit_code == rows[15]["unit_code"])
    assert signal.other == rows[3]["unit_code"] and rows[3]["unit_name"] in signal.figures
    share = int(signal.figures.split("约占 ")[1].rstrip("%"))
    assert 80 <= share <= 100
    assert signal.weight == spec.review.weights.copy_


def test_own_text_of_last_year_is_no_copy_but_anothers_is(spec: Any) -> None:
    rows = twenty(spec)
    previous = {rows[5]["unit_code"]: {"achievements": rows[5]["achievements"]},  # its own report again
                rows[6]["unit_code"]: {"achievements": rows[9]["achievements"]}}  # unit 9 took unit 6's of last year
    result = review(make(spec, rows, previous))
    assert kinds(result, "copy") == [rows[9]["unit_code"]]
    assert "上年的报告" in result.signals[0].figures


def test_wording_most_units_share_is_no_copy(spec: Any) -> None:
    rows = twenty(spec)
    for row in rows:  # every unit writes the same headings and boilerplate, and a short text of its own
        row["achievements"] = "一、单位概况。二、支出管理情况。三、绩效情况。全面完成年度各项工作任务，预算执行规范。" * 5
    assert kinds(review(make(spec, rows)), "copy") == []


def test_an_inflated_score(spec: Any) -> None:
    rows = twenty(spec)
    low = rows[4]
    low.update({"score": 95, "projects.total.spent": round(low["projects.total.budget"] * 0.62, 2)})
    rows[6]["score"] = 96  # 优秀 with a rate like the others'
    rows[12]["projects.total.spent"] = round(rows[12]["projects.total.budget"] * 0.5, 2)  # lowest, but graded 良好
    result = review(make(spec, rows))
    assert kinds(result, "score-rate") == [low["unit_code"]]
    signal = next(s for s in result.signals if s.kind == "score-rate")
    assert "自评得分 95 分（优秀）" in signal.figures and "62.0%" in signal.figures and "10 个单位" in signal.figures


def test_a_jump_without_explanation(spec: Any) -> None:
    rows = twenty(spec)
    jump = Issue("check-yoy-expense", "warning", None, "校验", "C5", 45.0, 30.0, "支出合计较上年变动幅度（%）不超过 30：本表数 45")
    explained = Issue("check-yoy-expense", "warning", None, "校验", "C5", 50.0, 30.0, "支出合计较上年变动幅度（%）不超过 30：本表数 50",
                      explanation="新增项目")
    previous = {rows[1]["unit_code"]: {"expense.all.total": 600.0}}
    result = review(make(spec, rows, previous, {rows[1]["unit_code"]: [jump], rows[2]["unit_code"]: [explained]}))
    assert kinds(result, "yoy") == [rows[1]["unit_code"]]
    assert "上年 600.00" in result.signals[0].figures and result.signals[0].subject == "支出合计（万元）"


def test_risk_adds_the_weights(spec: Any) -> None:
    rows = twenty(spec)
    rows[3]["expense.all.public"] = rows[3]["staff.actual"] * 5.0
    rows[3]["sangong.all.total"] = rows[3]["staff.actual"] * 1.0
    risk = review(make(spec, rows)).risk()
    assert risk == {rows[3]["unit_code"]: 2.0}


def test_robust_scale() -> None:
    assert robust_scores([1.0, 2.0, 3.0, 4.0, 100.0]) == (3.0, pytest.approx(1.4826))
    assert robust_scores([1.0, 1.0, 1.0, 2.0]) is None  # MAD 0: not judged


def test_ten_thousand_units_stay_fast() -> None:
    rng = random.Random(1)
    texts = [Text(f"u{k}", report(rng, f"单位{k}", 12)) for k in range(10_000)]
    texts[7777] = Text("u7777", texts[42].text.replace("。", "；") + "新增一句。")
    start = time.perf_counter()
    pairs = near_copies(texts, 5, 0.8, 200, 0.5, 5)
    assert time.perf_counter() - start < 60  # a few seconds alone; bounded on a loaded machine
    assert [(p.first, p.second) for p in pairs] == [(42, 7777)]


def test_the_section_is_checked_on_load(tmp_path: Path, spec: Any) -> None:
    text = (Path(__file__).resolve().parents[1] / "templates" / "perf_self_eval.yaml").read_text(encoding="utf-8")
    for old, new, said in [("numerator: expense.all.public", "numerator: expense.all.publik", "review.ratios[0].numerator"),
                           ("grade_top: 优秀\n  rate: {numerator: projects", "grade_top: 最好\n  rate: {numerator: projects", "review.grade_top"),
                           ("copy_texts: [achievements,", "copy_texts: [nothing.*,", "review.copy_texts[0]")]:
        path = tmp_path / "perf_self_eval.yaml"
        path.write_text(text.replace(old, new), encoding="utf-8")
        with pytest.raises(SpecError, match=said.replace("[", r"\[").replace("]", r"\]")):
            load_spec(path)


def test_the_review_section_is_not_in_the_fingerprint(tmp_path: Path, spec: Any) -> None:
    text = (Path(__file__).resolve().parents[1] / "templates" / "perf_self_eval.yaml").read_text(encoding="utf-8")
    path = tmp_path / "perf_self_eval.yaml"
    path.write_text(text.replace("outlier_threshold: 3.5", "outlier_threshold: 4"), encoding="utf-8")
    assert load_spec(path).fingerprint() == spec.fingerprint()


def test_the_sheet(tmp_path: Path, spec: Any) -> None:
    rows = twenty(spec)
    rows[3]["expense.all.public"] = rows[3]["staff.actual"] * 5.0
    path = tmp_path / "review.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    review_sheet(book, Formats(book, spec), make(spec, rows))
    book.close()
    sheet = openpyxl.load_workbook(path)[SHEET]
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0][0] == "审核提示（2024年度）"
    assert cells[2][:5] == [rows[3]["unit_code"], rows[3]["unit_name"], "城管局", "指标异常", "人均公用经费"]
    assert cells[2][7] == 1 and cells[2][8] == "outlier"
    assert sheet.column_dimensions["I"].hidden
    assert any(isinstance(r[0], str) and r[0].startswith("人均公用经费（") for r in cells)  # the notes under the list


def test_seed_and_demo_returns_raise_no_copy_or_score_alarm(returned: Path, roster: Any) -> None:
    result = review(consolidate([returned], roster, jobs=1))
    assert [s for s in result.signals if s.kind in ("copy", "score-rate")] == []


def risky_twenty(spec: Any) -> list[dict[str, Any]]:
    """Twenty units: one copied pair (risk 2 each), one outlier on two figures (2), one outlier on one (1)."""
    rows = twenty(spec)
    rows[15]["achievements"] = rows[3]["achievements"].replace(rows[3]["unit_name"], rows[15]["unit_name"])
    rows[5]["expense.all.public"] = rows[5]["staff.actual"] * 5.0
    rows[5]["sangong.all.total"] = rows[5]["staff.actual"] * 1.0
    rows[8]["expense.all.public"] = rows[8]["staff.actual"] * 5.0
    return rows


def test_the_sample_is_reproducible_and_holds_the_risky_units(spec: Any) -> None:
    from xlkit.bureau.review_sample import draw_sample

    rows = risky_twenty(spec)
    consolidation = make(spec, rows)
    heavy = {rows[k]["unit_code"] for k in (3, 5, 15)}  # unit 8 is under the threshold (1 < 2)
    draws = {seed: draw_sample(consolidation, 4, seed) for seed in range(6)}
    for sample in draws.values():
        assert {c.unit_code for c in sample.chosen if not c.drawn} == heavy
        assert len([c for c in sample.chosen if c.drawn]) == 4 and len({c.unit_code for c in sample.chosen}) == 7
        assert all(c.why.startswith("重点复核：风险分 2") for c in sample.chosen if not c.drawn)
    assert [c.unit_code for c in draw_sample(consolidation, 4, 3).chosen] == [c.unit_code for c in draws[3].chosen]
    assert len({tuple(c.unit_code for c in s.chosen) for s in draws.values()}) > 1  # another seed, other units
    shuffled = make(spec, list(reversed(rows)))  # the draw does not depend on the order units came in
    assert [c.unit_code for c in draw_sample(shuffled, 4, 3).chosen] == [c.unit_code for c in draws[3].chosen]
    chosen = next(c for c in draws[0].chosen if c.unit_code == rows[5]["unit_code"])
    assert chosen.contacts == "联系人5、13800000005" and chosen.figures[draws[0].figure_labels.index("实有人数")] == rows[5]["staff.actual"]
    assert "指标异常" in chosen.why and "人均公用经费" in chosen.why
    everyone = draw_sample(consolidation, 100, 1)
    assert len(everyone.chosen) == 20  # asking for more than there are takes them all, once


def test_review_sample_command(tmp_path: Path, returned: Path, roster: Any) -> None:
    from click.testing import CliRunner

    from xlkit.cli import main

    out = tmp_path / "sample.xlsx"
    args = ["review-sample", str(returned), "--roster", str(roster.path), "--n", "3", "--seed", "11", "-o", str(out), "--jobs", "1"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "种子 11" in first.output
    sheet = openpyxl.load_workbook(out)["复核抽样"]
    rows = [r for r in sheet.iter_rows(min_row=3, values_only=True) if isinstance(r[0], int)]
    assert len([r for r in rows if str(r[4]).startswith("随机抽查（种子 11）")]) == 3
    again = tmp_path / "again.xlsx"
    assert CliRunner().invoke(main, [*args[:-4], "-o", str(again), "--jobs", "1"]).exit_code == 0
    assert [r[1] for r in openpyxl.load_workbook(again)["复核抽样"].iter_rows(min_row=3, values_only=True) if isinstance(r[0], int)] \
        == [r[1] for r in rows]
    bad = CliRunner().invoke(main, ["review-sample", str(returned), "--n", "-1", "-o", str(out)])
    assert bad.exit_code != 0


def test_the_web_board_lists_the_signals_and_draws_the_sample(tmp_path: Path, spec: Any) -> None:
    """审核员 and 管理员 see the list and draw the sample; a department's officer gets 404 for both."""
    import io

    from web import PASSWORD, Client, Served, login

    from xlkit.campaign.access import set_password
    from xlkit.campaign.accounts import add_account
    from xlkit.campaign.ledger import Ledger
    from xlkit.campaign.receive import receive
    from xlkit.campaign.setup import DISTRIBUTED, init_campaign
    from xlkit.demo.sample_data import generate_unit_data
    from xlkit.intake.identify import open_template_workbook
    from xlkit.web.app import create_app
    from xlkit.write.fill import fill_workbook

    roster = tmp_path / "roster.csv"
    roster.write_text("单位编码,单位名称,主管部门,联系人,联系电话\n" + "".join(f"A{k},单位{k},一局,张{k},0730-{k}\n" for k in range(6)),
                      encoding="utf-8")
    folder = tmp_path / "c"
    init_campaign(folder, roster, 2019)
    with Ledger(folder) as ledger:
        set_password(ledger, PASSWORD)
        add_account(ledger, "rev", "审核员甲", "reviewer", "officer-pass-2019")
        add_account(ledger, "dept", "一局初审", "department", "officer-pass-2019", "一局")
    shared = report(random.Random(5), "")  # A1 and A2 hand in the same report
    files = []
    for k in range(6):
        template = next((folder / DISTRIBUTED).glob(f"A{k}_*.xlsx"))
        data = generate_unit_data(open_template_workbook(template, spec).layout, f"A{k}")
        data["achievements"] = shared if k in (1, 2) else report(random.Random(100 + k), "")
        fill_workbook(template, data, tmp_path / f"A{k}.xlsx", spec)
        files.append(tmp_path / f"A{k}.xlsx")
    receive(folder, files, by="收件员")
    served = Served(create_app(folder))
    try:
        def client(who: str) -> Client:
            one = Client(served.port)
            if who == "admin":
                login(one)
            else:
                page = one.get("/admin/login")
                assert one.post("/admin/login", {"csrf": page.csrf(), "login": who, "password": "officer-pass-2019"}).status == 303
            return one

        reviewer = client("rev")
        assert "/admin/review" in reviewer.get("/admin").text
        board = reviewer.get("/admin/review")
        assert board.status == 200 and "报告雷同" in board.text and "单位2（A2）的报告相同内容约占 100%" in board.text
        first = reviewer.get("/admin/review?n=2&seed=9")
        assert first.status == 200 and "attachment" in first.headers.get("content-disposition", "")
        again = client("admin").get("/admin/review?n=2&seed=9")

        def units(body: bytes) -> list[tuple[str, bool]]:
            sheet = openpyxl.load_workbook(io.BytesIO(body))["复核抽样"]
            return [(str(r[1]), str(r[4]).startswith("随机抽查（种子 9）")) for r in sheet.iter_rows(min_row=3, values_only=True)
                    if isinstance(r[0], int)]

        assert units(first.body) == units(again.body)
        assert {"A1", "A2"} <= {code for code, drawn in units(first.body) if not drawn}  # the copied pair: 重点复核
        assert len([code for code, drawn in units(first.body) if drawn]) == 2
        bad = reviewer.get("/admin/review?n=two&seed=9")
        assert bad.status == 400 and "抽查数量和种子须为不小于 0 的整数" in bad.text
        department = client("dept")
        assert "/admin/review" not in department.get("/admin").text
        assert department.get("/admin/review").status == 404 and department.get("/admin/review?n=2&seed=9").status == 404
    finally:
        served.close()


@settings(max_examples=200, deadline=None)
@given(sets=st.lists(st.lists(st.integers(0, 40), max_size=12, unique=True), max_size=8), wording=st.lists(st.integers(0, 40), max_size=10, unique=True))
def test_the_wording_taken_out_at_once_is_taken_out_set_by_set(sets: list[list[int]], wording: list[int]) -> None:
    """`copies._without` (one isin over every set) against the plain way, one isin per set."""
    arrays = [np.array(sorted(s), dtype=np.uint64) for s in sets]
    common = np.array(sorted(wording), dtype=np.uint64)
    fast = _without(arrays, common)
    assert [a.tolist() for a in fast] == [s[~np.isin(s, common, assume_unique=True)].tolist() for s in arrays]
    assert all(a.dtype == np.uint64 for a in fast)
