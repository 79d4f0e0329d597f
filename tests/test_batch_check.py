"""The batch check: files of one shape go to one reader, and nothing else changes. Each fast path is held to its plain
path: `run_isolated` with affinity to the plain order (random items that crash, raise and answer), `read_all` by
shape to `read_all` in folder order (every report the same), the per-layout text fields to the per-file match."""

from __future__ import annotations

import os
import random
import shutil
import zipfile

import pytest
from tamper import edit, rezip

from xlkit.bureau import isolate
from xlkit.bureau.consolidate import read_all
from xlkit.bureau.isolate import SHARE_FROM, run_isolated
from xlkit.form.placement import build_layout
from xlkit.intake.batch import shape_hint
from xlkit.intake.narrative import _text_fields, text_fields


def act(item: tuple[str, str]) -> str:
    """What a reader does with one item: answer with its pid, raise, or die."""
    what, _key = item
    if what == "die":
        os._exit(3)
    if what == "raise":
        raise ValueError("bad item")
    return f"{what}:{os.getpid()}"


def _answers(outcomes: list[isolate.Outcome]) -> list[tuple[bool, str]]:
    return [(o.ok, o.value.split(":")[0] if o.ok else o.failure) for o in outcomes]


@pytest.mark.parametrize("seed", range(6))
def test_affinity_gives_the_plain_paths_outcomes(seed):
    """Random groups, random failures: with affinity every item has the outcome it has in plain order, once."""
    rng = random.Random(seed)
    keys = [rng.choice("ABCDE") for _ in range(rng.randint(1, 60))]
    kinds = rng.choices(["ok", "raise", "die"], [20, 2, 1], k=len(keys))
    items = [(f"ok{k}" if kind == "ok" else kind, key) for k, (kind, key) in enumerate(zip(kinds, keys, strict=True))]
    jobs = rng.randint(1, 3)
    seen: list[int] = []
    grouped = run_isolated(act, items, jobs, timeout=30, memory_mb=None, on_outcome=lambda o: seen.append(o.index), affinity=keys)
    plain = run_isolated(act, items, jobs, timeout=30, memory_mb=None)
    assert _answers(grouped) == _answers(plain)
    assert [o.index for o in grouped] == list(range(len(items))) and sorted(seen) == list(range(len(items)))


def test_a_group_stays_with_one_worker():
    """Two shapes interleaved, two workers: each shape is read by one process (smaller than SHARE_FROM, no sharing)."""
    count = SHARE_FROM - 2
    items = [(f"ok{k}", "AB"[k % 2]) for k in range(2 * count)]
    outcomes = run_isolated(act, items, 2, timeout=30, memory_mb=None, affinity=[key for _what, key in items])
    pids = {key: {o.value.split(":")[1] for o, (_w, k) in zip(outcomes, items, strict=True) if k == key} for key in "AB"}
    assert len(pids["A"]) == 1 and len(pids["B"]) == 1 and pids["A"] != pids["B"]
    plain = run_isolated(act, items, 2, timeout=30, memory_mb=None)
    assert len({o.value.split(":")[1] for o in plain}) == 2


def test_a_large_group_is_shared_when_a_worker_is_idle():
    items = [(f"ok{k}", "A") for k in range(4 * SHARE_FROM)]
    outcomes = run_isolated(act, items, 2, timeout=30, memory_mb=None, affinity=["A"] * len(items))
    assert all(o.ok for o in outcomes)
    assert len({o.value.split(":")[1] for o in outcomes}) == 2


def test_one_key_per_item():
    with pytest.raises(ValueError, match="one affinity key per item"):
        run_isolated(act, [("ok", "A")], 1, affinity=["A", "B"])


def test_a_worker_that_died_gives_its_queued_items_back_to_their_group():
    pending = isolate._Pending([("ok", "A"), ("ok", "B"), ("ok", "A")], ["A", "B", "A"])
    slot = isolate._Slot(process=None, conn=None)  # type: ignore[arg-type]
    first, second = pending.take(slot, [slot]), pending.take(slot, [slot])
    assert (first, second) == ((0, ("ok", "A")), (2, ("ok", "A")))  # the largest group first, kept to
    pending.put_back([first, second])
    assert [pending.take(slot, [slot]) for _ in range(3)] == [first, second, (1, ("ok", "B"))]
    assert pending.take(slot, [slot]) is None


def test_shape_hint(tmp_path, returned, seed_filled):
    files = sorted(returned.glob("*.xlsx"))
    hints = {f: shape_hint(f) for f in files}
    assert all(len(h) == 12 for h in hints.values())
    for f in files:  # the same hint exactly when the workbook part is the same
        with zipfile.ZipFile(f) as z:
            info = z.getinfo("xl/workbook.xml")
            assert hints[f] == info.CRC.to_bytes(4, "little") + info.compress_size.to_bytes(4, "little") + info.file_size.to_bytes(4, "little")
    assert shape_hint(shutil.copy(seed_filled, tmp_path / "copy.xlsx")) == shape_hint(seed_filled)
    (tmp_path / "empty.xlsx").write_bytes(b"")
    (tmp_path / "page.xlsx").write_text("<html></html>")
    (tmp_path / "short.xlsx").write_bytes(seed_filled.read_bytes()[:-30])  # the directory cut off
    os.mkfifo(tmp_path / "fifo.xlsx")  # never opened to wait for a writer
    no_workbook = tmp_path / "none.xlsx"
    with zipfile.ZipFile(no_workbook, "w") as z:
        z.writestr("xl/workbook.xmlx", b"x")
    for name in ["empty.xlsx", "page.xlsx", "fifo.xlsx", "none.xlsx", "missing.xlsx", "."]:
        assert shape_hint(tmp_path / name) == b"", name
    assert shape_hint(tmp_path / "short.xlsx") in (b"", shape_hint(seed_filled))


def test_random_bytes_never_raise(seed_filled, tmp_path):
    rng = random.Random(7)
    data = bytearray(seed_filled.read_bytes())
    for k in range(300):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            damaged[rng.randrange(max(0, len(data) - 3000), len(data))] = rng.randrange(256)
        path = tmp_path / f"d{k}.xlsx"
        path.write_bytes(bytes(damaged))
        assert len(shape_hint(path)) in (0, 12)


def test_read_all_by_shape_gives_the_plain_paths_reports(tmp_path, returned, seed_filled, spec):
    """A folder of several shapes, tampered returns and bad files: by shape and in folder order, the same reports."""
    folder = tmp_path / "in"
    shutil.copytree(returned, folder)
    files = sorted(folder.glob("*.xlsx"))
    edit(files[0], folder / "zz_edited.xlsx", unprotect=("封面",), set_cell=("基本概况", "C5", "1,126.28"))
    rezip(seed_filled, folder / "zz_no_meta.xlsx", change=lambda parts: parts.pop("xl/worksheets/sheet1.xml", None))
    (folder / "empty.xlsx").write_bytes(b"")
    (folder / "page.xlsx").write_text("<html></html>", encoding="utf-8")
    paths = sorted(folder.iterdir())
    grouped = read_all(paths, jobs=2, by_shape=True)
    plain = read_all(paths, jobs=2, by_shape=False)
    assert [r.to_dict() for r in grouped] == [r.to_dict() for r in plain]
    assert len({shape_hint(p) for p in paths}) >= 3


def test_text_fields_per_layout_match_the_plain_match(spec):
    narrative = spec.narrative
    assert narrative is not None
    rng = random.Random(3)
    for _ in range(8):  # as units differ: their project rows and sub-units
        from xlkit.form.params import make_params

        counts = {"projects": rng.randint(3, 7)}
        names = {"sub_units": [f"所属机构{k}" for k in range(rng.randint(0, 3))]}
        params = make_params(spec, {"unit_code": "B1", "unit_name": "单位", "year": 2019}, counts, names)
        layout = build_layout(spec, params.shape())
        assert text_fields(layout, narrative) == _text_fields(layout, narrative)
        assert text_fields(layout, narrative)  # the form's report texts are read


def test_a_check_proven_once_is_not_run_again(tmp_path, monkeypatch):
    """Start-up: a spec's validation at its largest row counts is run once per spec and per xlkit, not per command."""
    from xlkit import caches

    monkeypatch.setenv(caches.CACHE_ENV, str(tmp_path / "cache"))
    runs: list[str] = []

    def passes() -> None:
        runs.append("pass")

    def fails() -> None:
        runs.append("fail")
        raise ValueError("no")

    caches.proven("t", "a", passes)
    caches.proven("t", "a", passes)
    caches.proven("t", "b", passes)
    assert runs == ["pass", "pass"]
    for _ in range(2):  # a failure is never remembered
        with pytest.raises(ValueError):
            caches.proven("t", "c", fails)
    assert runs == ["pass", "pass", "fail", "fail"]
    monkeypatch.setattr(caches, "_code_digest", lambda: "other code")  # another xlkit checks again
    caches.proven("t", "a", passes)
    assert runs[-1] == "pass" and len(runs) == 5
    monkeypatch.setenv(caches.CACHE_ENV, "")  # nothing kept: every check runs
    caches.proven("t", "a", passes)
    caches.proven("t", "a", passes)
    assert len(runs) == 7
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv(caches.CACHE_ENV, str(blocked))  # a folder that cannot be made: only the time is lost
    caches.proven("t", "a", passes)
    caches.proven("t", "a", passes)
    assert len(runs) == 9


def test_a_spec_that_fails_its_check_fails_at_every_load(tmp_path, monkeypatch):
    from xlkit import caches
    from xlkit.errors import SpecError
    from xlkit.form.load import builtin_spec_path, load_spec

    monkeypatch.setenv(caches.CACHE_ENV, str(tmp_path / "cache"))
    text = builtin_spec_path().read_text(encoding="utf-8")
    good = tmp_path / "good.yaml"
    good.write_text(text, encoding="utf-8")
    for name in ["project_self_eval.yaml"]:  # the form it composes, beside it
        shutil.copy(builtin_spec_path().parent / name, tmp_path / name)
    calls: list[str] = []
    from xlkit.form import load

    real = load.check_spec
    monkeypatch.setattr(load, "check_spec", lambda spec, path: (calls.append(str(path)), real(spec, path))[1])
    load_spec(good)
    caches.clear()
    load_spec(good)
    assert sorted(calls) == sorted([str(good), str(tmp_path / "project_self_eval.yaml")])  # once: the second load skips both
    assert (tmp_path / "cache" / "proven" / "spec-check").is_dir()
    bad = tmp_path / "bad.yaml"  # valid YAML and model, refused by check_spec only: a placeholder no field has
    assert "ROUND({personnel}+{public},2)" in text
    bad.write_text(text.replace("ROUND({personnel}+{public},2)", "ROUND({personnel}+{publik},2)"), encoding="utf-8")
    for _ in range(2):
        caches.clear()
        with pytest.raises(SpecError, match="publik"):
            load_spec(bad)
    assert calls[2:] == [str(bad), str(bad)]


def test_check_does_not_import_pandas():
    """A third of `xlkit check`'s start-up was importing pandas, which only the summary and the CSV use."""
    import subprocess
    import sys

    code = ("import sys; import xlkit.cli; from xlkit.bureau.consolidate import read_all; "
            "from xlkit.intake.check import check_file; print('pandas' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_a_batch_plans_when_the_formulas_are_generated(seed_filled):
    """Many files of a shape: generated at the second; few: never (not at the 64th use). The same reports either way
    as without a plan."""
    from xlkit import caches
    from xlkit.bureau.consolidate import check_one
    from xlkit.form.compute import Calculator, calculator
    from xlkit.form.registry import registry_for
    from xlkit.intake.batch import GENERATE_FROM, NEVER
    from xlkit.intake.check import check_file

    path = str(seed_filled)
    plain = [r.to_dict() for r in check_one((path, (), False))]

    def fresh() -> Calculator:
        """The seed's layout with a calculator that has computed nothing yet."""
        caches.clear()
        layout = check_file(path, registry_for(())).layout  # the registry check_one uses
        assert layout is not None
        calc = calculator(layout)
        calc.uses = 0
        return calc

    calc = fresh()
    first = check_one((path, (), False, GENERATE_FROM))
    assert calc.HOT == 2 and calc.program is None
    second = check_one((path, (), False, GENERATE_FROM))
    assert calc.program is not None and calc.source
    assert [r.to_dict() for r in first] == [r.to_dict() for r in second] == plain
    calc = fresh()
    few = [check_one((path, (), False, 67)) for _ in range(Calculator.HOT + 2)]
    assert calc.HOT == NEVER and calc.program is None and calc.uses == Calculator.HOT + 2
    assert all([r.to_dict() for r in reports] == plain for reports in few)


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_files_behind_a_crash_are_read_when_their_group_is_small(jobs):
    """A worker dies on the first of a small group: the files queued behind it go to the fresh worker, none is lost."""
    for items in ([("die", "A"), ("ok1", "A"), ("ok2", "A"), ("ok3", "B")], [("die", "A"), ("ok1", "A"), ("ok2", "A")]):
        outcomes = run_isolated(act, items, jobs, timeout=30, memory_mb=None, affinity=[key for _what, key in items])
        assert [o.ok for o in outcomes] == [False] + [True] * (len(items) - 1)
        assert [o.value.split(":")[0] for o in outcomes[1:]] == [what for what, _key in items[1:]]
