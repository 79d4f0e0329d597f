"""One personalised workbook per roster unit, and a manifest of what was made."""

from __future__ import annotations

import csv
import hashlib
import math
import multiprocessing
import os
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from ..files import temporary_beside
from ..form.functions import Value
from ..form.identity import password_hash
from ..form.layout import Layout
from ..form.params import PREVIOUS_PREFIX, BuildParams, make_params
from ..form.placement import build_layout
from ..form.spec import Spec
from ..kinds import DistributeStatus
from ..write.build import write_workbook
from ..write.personalise import Shape, shape_key
from .isolate import Outcome, run_isolated
from .roster import Roster, RosterUnit, UnitParams, unit_params, unused_notice

MANIFEST = "manifest.csv"
UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


@dataclass
class Distributed:
    unit: RosterUnit
    path: Path
    status: DistributeStatus
    reason: str = ""
    sha256: str = ""


def unit_filename(unit: RosterUnit) -> str:
    return UNSAFE_FILENAME.sub("_", f"{unit.code}_{unit.name}") + ".xlsx"


def _content_digest(path: Path) -> str:
    """Digest of the workbook's parts, leaving out docProps/core.xml (it carries the creation time)."""
    digest = hashlib.sha256()
    with zipfile.ZipFile(path) as archive:
        for name in sorted(archive.namelist()):
            if name != "docProps/core.xml":
                digest.update(name.encode())
                digest.update(archive.read(name))
    return digest.hexdigest()


def distribute(
    spec: Spec,
    units: Roster | list[RosterUnit],
    year: int,
    out_dir: str | Path,
    password: str | None = None,
    overwrite: bool = False,
    progress: Callable[[Distributed], None] | None = None,
    issuer: str | None = None,
    previous: Mapping[str, Mapping[str, Value]] | None = None,
    constants: dict[str, float] | None = None,
    notice: Callable[[str], None] | None = None,
    fast: bool = True,
    jobs: int | None = None,
) -> list[Distributed]:
    """Never silently replaces a different file: an existing one is kept unless `overwrite`. With `previous` (last
    year's values by unit code) each unit's workbook starts from its own last year (see `carry_over`). The spec's
    `roster:` section says which roster columns set each unit's parameters and prefill; every roster is checked
    against it before a workbook is made, and `notice` is told of the columns the form does not use. `fast` writes
    each shape once and personalises the copies (`FastWriter`); without it each workbook is built (`PlainWriter`):
    the files are the same, part by part. The fast path runs in `jobs` processes (by default one per core for a
    roster of PARALLEL_FROM units or more), each taking whole shapes."""
    roster = units if isinstance(units, Roster) else Roster(Path("名单"), list(units), tuple(dict.fromkeys(h for u in units for h in u.columns)))
    plans = unit_params(spec, roster)
    message = unused_notice(spec, roster)
    if message and notice:
        notice(message)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    hashed = password_hash(password or spec.template.password or "")
    contacts = prefilled_keys(spec)  # the roster's 联系人 and 联系电话 are given only to a form that prefills them
    work: list[_Unit] = []
    for unit, plan in zip(roster.units, plans, strict=True):
        prefill = {**plan.prefill, "unit_code": unit.code, "unit_name": unit.name, "year": year, "parent_code": unit.parent_code,
                   "parent_name": unit.parent_name, "issuer": issuer, "implementer": unit.implementer}
        prefill.update({k: v for k, v in (("contact_name", unit.contact_name), ("contact_phone", unit.contact_phone)) if k in contacts})
        last_year = (previous or {}).get(unit.code, {})
        prefill.update(previous_figures(spec, last_year))
        work.append(_Unit(unit, make_params(spec, prefill, plan.counts, plan.names, constants), last_year, out_dir / unit_filename(unit)))
    if jobs is None:
        jobs = (os.cpu_count() or 1) if len(work) >= PARALLEL_FROM else 1
    if fast and jobs > 1 and "fork" in multiprocessing.get_all_start_methods():
        results = _in_parallel(spec, hashed, overwrite, work, jobs, progress)
    else:
        writer = FastWriter(spec, hashed) if fast else PlainWriter(spec, hashed)
        results = []
        for item in work:
            results.append(_distribute_one(writer, item, overwrite))
            if progress:
                progress(results[-1])
    write_manifest(spec, results, plans, year, out_dir / MANIFEST)
    return results


PARALLEL_FROM = 200  # units; below, starting the processes and writing each shape in each costs more than it saves
SHAPE_BATCH = 256  # units of one shape sent to a process at once: each process writes a shape's first unit in full


@dataclass
class _Unit:
    unit: RosterUnit
    params: BuildParams
    last_year: Mapping[str, Value]
    target: Path


def _distribute_one(writer: PlainWriter, item: _Unit, overwrite: bool) -> Distributed:
    unit, target = item.unit, item.target
    with temporary_beside(target) as tmp:
        digest = writer.write(item.params, item.last_year, tmp)
        if not target.exists():
            os.replace(tmp, target)
            return Distributed(unit, target, "created", sha256=digest)
        if _same_content(target, digest):
            return Distributed(unit, target, "unchanged", sha256=digest)
        if overwrite:
            os.replace(tmp, target)
            return Distributed(unit, target, "replaced", "a different file was there (--overwrite)", digest)
        return Distributed(unit, target, "refused", "已有另一个文件，未覆盖；确要替换请加 --overwrite")


_RUN: tuple[Spec, str, bool] | None = None  # what forked processes distribute: the spec, the password hash, overwrite
_WRITER: FastWriter | None = None  # a process's own, with the shapes it has written


def _distribute_batch(batch: list[_Unit]) -> list[Distributed]:
    """In a forked process: units of one shape."""
    global _WRITER
    assert _RUN is not None
    spec, hashed, overwrite = _RUN
    if _WRITER is None:
        _WRITER = FastWriter(spec, hashed)
    return [_distribute_one(_WRITER, item, overwrite) for item in batch]


def _in_parallel(spec: Spec, hashed: str, overwrite: bool, work: list[_Unit], jobs: int,
                 progress: Callable[[Distributed], None] | None) -> list[Distributed]:
    """The fast path over `jobs` forked processes, a batch of one shape's units at a time, the largest shapes first.
    A batch whose process failed is done again here, where its error is raised as on one core."""
    global _RUN
    by_shape: dict[str, list[int]] = {}
    for n, item in enumerate(work):
        by_shape.setdefault(shape_key(item.params), []).append(n)
    batches = [indices[i:i + SHAPE_BATCH] for indices in sorted(by_shape.values(), key=len, reverse=True)
               for i in range(0, len(indices), SHAPE_BATCH)]

    def arrived(outcome: Outcome) -> None:
        if outcome.ok and progress:
            for result in outcome.value:
                progress(result)

    _RUN = (spec, hashed, overwrite)
    try:
        outcomes = run_isolated(_distribute_batch, [[work[n] for n in batch] for batch in batches], jobs, timeout=600,
                                on_outcome=arrived)
    finally:
        _RUN = None
    results: dict[int, Distributed] = {}
    writer = FastWriter(spec, hashed)
    for batch, outcome in zip(batches, outcomes, strict=True):
        done = outcome.value if outcome.ok else [_distribute_one(writer, work[n], overwrite) for n in batch]
        if not outcome.ok and progress:
            for result in done:
                progress(result)
        results.update(zip(batch, done, strict=True))
    return [results[n] for n in range(len(work))]


class PlainWriter:
    """The plain path: each unit's layout placed and its workbook written in full (about 230 ms)."""

    def __init__(self, spec: Spec, hashed: str):
        self.spec, self.hashed = spec, hashed

    def write(self, params: BuildParams, last_year: Mapping[str, Value], out: Path) -> str:
        """The unit's workbook to `out`; returns its content digest."""
        layout = build_layout(self.spec, params)
        write_workbook(layout, previous_texts(layout, last_year), out, self.hashed)
        return _content_digest(out)


class FastWriter(PlainWriter):
    """The fast path (write/personalise.py): a shape's first unit written in full, the others personalised from it.
    The last SHAPES shapes are kept; a campaign with more sees some written again, never a wrong file."""

    SHAPES = 32

    def __init__(self, spec: Spec, hashed: str):
        super().__init__(spec, hashed)
        self.shapes: dict[str, Shape] = {}

    def write(self, params: BuildParams, last_year: Mapping[str, Value], out: Path) -> str:
        key = shape_key(params)
        shape = self.shapes.pop(key, None)
        if shape is None:
            layout = build_layout(self.spec, params)
            shape = Shape(layout, previous_texts(layout, last_year), self.hashed, out)
            digest = _content_digest(out)
        else:
            digest = shape.write(params, previous_texts(shape.layout, last_year), out)
        self.shapes[key] = shape  # the most recently used last
        if len(self.shapes) > self.SHAPES:
            del self.shapes[next(iter(self.shapes))]
        return digest


def prefilled_keys(spec: Spec) -> set[str]:
    """The prefill keys the fields of a form take."""
    return {item.prefill for sheet in spec.sheets for block in sheet.blocks for row in block.fields or [] for item in row if item.prefill}


def previous_figures(spec: Spec, last_year: Mapping[str, Value]) -> dict[str, float]:
    """Last year's main figures as the prefill keys `previous.<key>` the spec declares (locked 上年数 cells)."""
    out = {}
    for figure in spec.previous.figures:
        value = last_year.get(figure.field)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[f"{PREVIOUS_PREFIX}{figure.key}"] = float(value)
    return out


def previous_texts(layout: Layout, last_year: Mapping[str, Value]) -> dict[str, str]:
    """Last year's wording of the texts the spec names (定性目标, indicator goals): a start the unit edits."""
    if not last_year:
        return {}
    patterns = layout.spec.previous.texts
    return {slot.id: value for slot in layout.inputs() if not slot.locked and any(fnmatch(slot.id, p) for p in patterns)
            for value in [last_year.get(slot.id)] if isinstance(value, str) and value.strip()}


def _same_content(path: Path, digest: str) -> bool:
    try:
        return _content_digest(path) == digest
    except (zipfile.BadZipFile, OSError, KeyError):
        return False


def write_manifest(spec: Spec, results: list[Distributed], plans: list[UnitParams], year: int, path: Path) -> None:
    """One row per workbook; a column per parameter the roster set (its item names, or the count) and the project's 预算数."""
    declared = list(spec.roster.parameters)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "unit_code", "unit_name", "parent_code", "parent_name", "year", "template_id",
                         "template_version", "fingerprint", *declared, "budget", "status", "content_sha256"])
        for r, plan in zip(results, plans, strict=True):
            u = r.unit
            set_by_roster = ["；".join(plan.names[n]) if n in plan.names else plan.counts.get(n, "") for n in declared]
            writer.writerow([r.path.name, u.code, u.name, u.parent_code, u.parent_name, year, spec.template.id,
                             spec.template.version, spec.fingerprint(), *set_by_roster, "" if u.budget is None else f"{u.budget:g}",
                             r.status, r.sha256])
