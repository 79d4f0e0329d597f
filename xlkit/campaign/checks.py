"""Check results kept in the ledger by (file sha256, spec key, xlkit version): a file is checked once per spec and
version, however many times it is received or consolidated."""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..bureau.consolidate import read_all
from ..errors import CampaignError
from ..form.registry import SpecRegistry, registry_for
from ..intake.report import FileReport, report_from_record, report_record
from ..version import __version__
from .blobs import blob_store
from .ledger import Ledger

Reader = Callable[[list[Path], tuple[str, ...], "Bounds"], list[FileReport]]


@dataclass
class Bounds:
    """What each reader process may take, as for `consolidate`; `reader` replaces the reading itself (the web server
    reads through a checker process started before its threads)."""

    jobs: int | None = None
    timeout: float = 120.0
    memory_mb: int | None = 2048
    reader: Reader | None = None


def read_bounded(paths: list[Path], spec_paths: tuple[str, ...], bounds: Bounds,
                 progress: Callable[[], None] | None = None) -> list[FileReport]:
    """One report per file, each read in an isolated process within the bounds."""
    return read_all(paths, spec_paths, bounds.jobs, bounds.timeout, bounds.memory_mb, progress=progress, whole=True)


def registry_of(ledger: Ledger) -> SpecRegistry:
    return registry_for(tuple(ledger.settings().get("specs", [])))


def spec_key(registry: SpecRegistry) -> str:
    """Changes whenever any spec that reads the files changes (a new form version, an edited rule)."""
    parts = sorted(f"{s.template.id}@{s.template.version}:{f}" for s, f in zip(registry.specs, registry.fingerprints, strict=True))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def encode(report: FileReport) -> bytes:
    return zlib.compress(json.dumps(report_record(report), ensure_ascii=False, allow_nan=False).encode(), 6)


def decode(data: bytes) -> FileReport:
    return report_from_record(json.loads(zlib.decompress(data)))


def reports_for(ledger: Ledger, shas: list[str], bounds: Bounds, progress: Callable[[], None] | None = None
                ) -> tuple[dict[str, FileReport], int]:
    """The report of each blob, from the ledger's cache or checked now (in bounded reader processes) and cached;
    also how many were checked now."""
    registry = registry_of(ledger)
    key = spec_key(registry)
    out: dict[str, FileReport] = {}
    missing: list[str] = []
    for sha in dict.fromkeys(shas):
        cached = ledger.cached_report(sha, key, __version__)
        if cached is None:
            missing.append(sha)
        else:
            out[sha] = decode(cached)
            if progress:
                progress()
    if missing:
        spec_paths = tuple(ledger.settings().get("specs", []))
        with blob_store(ledger).readable(missing) as paths:  # a database's blobs as temporary files for the readers
            reports = bounds.reader(paths, spec_paths, bounds) if bounds.reader else read_bounded(paths, spec_paths, bounds, progress)
        for sha, report in zip(missing, reports, strict=True):
            report.path = ""  # the same bytes may arrive under many names: the receipt says which
            ledger.cache_report(sha, key, __version__, encode(report))
            out[sha] = report
    return out, len(missing)


def latest_report(ledger: Ledger, sha256: str) -> FileReport:
    """A blob's most recent check, whatever spec made it (what the unit was told at the time)."""
    data = ledger.latest_report(sha256)
    if data is None:
        raise CampaignError(f"台账中没有文件 {sha256[:12]}… 的审核结果")
    return decode(data)
