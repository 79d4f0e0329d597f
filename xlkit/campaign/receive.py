"""Receiving files into a campaign: archive, check, record — and never half of it.

Order of work: each file is copied into the archive (durable before anything refers to it), the whole batch is
registered as a run, the blobs are checked (or their cached checks reused), then each file's receipt is recorded in
its own transaction. Killed at any point, a re-run with the same files resumes the unfinished run: receipts already
recorded are not recorded twice, and blobs left without a receipt are simply reused."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from ..errors import CampaignError
from ..intake.discover import display_name
from ..intake.report import FileReport
from .accounts import Actor, cli_actor
from .blobs import blob_store
from .checks import Bounds, reports_for
from .ledger import LEASE, Ledger, NewReceipt, Owner, now
from .mail import queue_receipts
from .state import STATUS_LABELS, status_of


@dataclass
class Received:
    """One file handed to `receive`: recorded (receipt > 0) or not, and why."""

    name: str
    sha256: str = ""
    receipt: int = 0
    unit_code: str = ""
    status: str = ""  # the unit's status after this receipt (a key of STATUS_LABELS); "" when not recorded
    reason: str = ""  # why it was not recorded, or the file's first problem
    repeated: bool = False  # this very batch was received before (a re-run): its earlier receipt stands

    @property
    def label(self) -> str:
        if self.repeated:
            return f"此前已收件（收件 {self.receipt}）"
        return STATUS_LABELS[self.status] if self.status else "未记录"


def receive(folder: str | Path, paths: list[Path], note: str = "", by: str = "", bounds: Bounds | None = None,
            progress: Callable[[], None] | None = None, names: list[str] | None = None, unit: str | None = None,
            actor: Actor | None = None) -> list[Received]:
    """Receive every file given; one entry per file, in the order given. `names`: the names people gave the files
    (an upload's), shown instead of the paths'. `unit`: the unit that handed them in (a unit's own web link): a
    file naming another unit is recorded for this one, as an error. `actor`: who handed them in, for the audit
    trail (default: the command line, named `by`). Each unit with an e-mail address is sent an acknowledgement."""
    bounds = bounds or Bounds()
    actor = actor or cli_actor(by)
    with Ledger(folder) as ledger:
        store = blob_store(ledger)
        results = [Received(safe_name(names[k]) if names else Path(display_name(p)).name) for k, p in enumerate(paths)]
        stored: list[tuple[int, int, int]] = []  # (index in paths, size, modification time)
        for index, path in enumerate(paths):
            try:
                results[index].sha256, size = store.put(path)
                stored.append((index, size, os.stat(path).st_mtime_ns))
            except (CampaignError, OSError) as exc:
                results[index].reason = str(exc)
        owner = Owner.me(LEASE)
        run, done = _open_run(ledger, [(os.path.abspath(paths[i]), results[i].sha256, size, mtime) for i, size, mtime in stored],
                              note, by, owner)
        try:  # the run's claim is given up however this ends (a long-lived web server keeps running)
            todo = [results[index].sha256 for item, (index, *_rest) in enumerate(stored) if item not in done]
            reports, _checked = reports_for(ledger, todo, bounds, progress)
            roster = {u.code for u in ledger.units()}
            year = ledger.meta("year")
            acknowledged: list[tuple[str, int]] = []
            for item, (index, _size, _mtime) in enumerate(stored):
                result = results[index]
                if item not in done:
                    new = _decide(result, reports[result.sha256], roster, year, note, by, unit)
                    with ledger.writing():
                        result.receipt = ledger.add_receipt(run, item, new, owner)
                        ledger.add_audit(actor.entry("receipt", new.unit_code, result.receipt, None, result.name))
                    acknowledged.append((new.unit_code, result.receipt))
                else:
                    result.receipt, result.repeated = done[item], True
            ledger.finish_run(run, owner, now())
        except BaseException:
            _give_up(ledger, run, owner)
            raise
        for result in results:
            if result.receipt:
                receipt = ledger.receipt(result.receipt)
                assert receipt is not None
                result.unit_code, result.reason = receipt.unit_code, receipt.summary
                result.status = status_of(ledger.receipts(result.unit_code), ledger.actions(result.unit_code)) if result.unit_code \
                    else status_of([receipt], [])
        queue_receipts(ledger, [(code, rid) for code, rid in acknowledged if code in roster])
        return results


def safe_name(name: str) -> str:
    """A file name as people gave it, for display only: no folders, no control characters, at most 120 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(c for c in base if c.isprintable()).strip() or "（无名文件）"
    return clean[:120]


def _open_run(ledger: Ledger, items: list[tuple[str, str, int, int]], note: str, by: str, owner: Owner) -> tuple[int, dict[int, int]]:
    """The run of this batch, claimed for this process. A batch is its files (path, content, size, modification
    time), note and clerk: the same batch again (a re-run after a crash or a kill, or the same command twice)
    continues the earlier run whose process is gone, recording only what it had not (item -> receipt id of those it
    had); a run still going in another process is left to it. The archived blobs are registered, and what dead runs
    left is tidied first."""
    key = hashlib.sha256(json.dumps([items, note, by], ensure_ascii=False).encode()).hexdigest()
    blobs = [(sha, size, now()) for _path, sha, size, _mtime in items]
    return ledger.start_run(key, len(items), blobs, now(), owner)


def _give_up(ledger: Ledger, run: int, owner: Owner) -> None:
    """The run stays open for the same batch to resume; a ledger that cannot take even this leaves the claim to die
    with the process (the failure that stopped the run is the one told)."""
    with suppress(CampaignError):
        ledger.release_run(run, owner)


def _decide(result: Received, report: FileReport, roster: set[str], year: str, note: str, by: str, unit: str | None) -> NewReceipt:
    """The receipt a file gets: the unit it counts for, its counts, and its first problem (or why it is refused)."""
    ident = report.identity
    code = ident.unit_code if ident is not None else ""
    if not code:  # unreadable: named after the file name `<code>_<name>.xlsx` when that fits the roster
        guess = result.name.split("_", 1)[0]
        code = guess if guess in roster else ""
    errors = [i for i in report.issues if i.severity == "error"]
    warnings = [i for i in report.issues if i.severity == "warning"]
    unexplained = sum(1 for i in warnings if not i.explained)
    summary = errors[0].message if errors else ""
    refused = ""
    if report.via or report.units or (ident is not None and ident.kind == "summary"):
        refused = "这是下级汇总表，不是单位报表"
    elif ident is not None and ident.year != year:
        refused = f"年度为 {ident.year or '（空）'}，不是本次报送任务的 {year} 年度"
    if unit is not None and code != unit:  # a unit's own link: the file counts for that unit, whatever it names
        if code:
            refused = f"这是单位 {code} 的文件，不是本单位的报表；请上传本单位下发的报表"
        code = unit
    summary = refused or summary
    return NewReceipt(result.sha256, result.name, now(), note, by, code, ident.template_id if ident else "",
                      len(errors) + (1 if refused else 0), len(warnings), unexplained, summary)
