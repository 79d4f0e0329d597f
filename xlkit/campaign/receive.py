"""Receiving files into a campaign: archive, check, record — and never half of it.

Order of work: each file is copied into the archive (durable before anything refers to it), the whole batch is
registered as a run, the blobs are checked (or their cached checks reused), then the receipts are recorded, each
with its audit line, `BATCH` files to a transaction. Killed at any point, a re-run with the same files resumes the
unfinished run: receipts already recorded are not recorded twice, and blobs left without a receipt are simply
reused. A ledger that fails part-way (its server gone, its file locked or unwritable) is `Interrupted`: every file
is told, recorded or not, and the same command run again once the ledger is back records the rest."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from contextlib import nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path

from ..errors import CampaignError
from ..intake.discover import display_name
from ..intake.report import FileReport
from .accounts import Actor, cli_actor
from .blobs import blob_store
from .checks import Bounds, reports_for
from .ledger import LEASE, Ledger, LedgerUnavailable, NewReceipt, Owner, Receipt, now
from .ledger.backend import LedgerError
from .mail import queue_receipts
from .state import STATUS_LABELS, status_of

BATCH = 200  # receipts recorded in one transaction: a commit (a disk flush, a server round trip) is most of a receipt's cost
NOT_RECORDED = "台账数据库不可用，本文件未记录（已存入存档）；台账恢复后用同样的命令再运行一次即可补记，已记录的不会重复"


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
        if self.status:
            return STATUS_LABELS[self.status]
        return f"已记录（收件 {self.receipt}）" if self.receipt else "未记录"  # recorded: its status unread when the ledger went


class Interrupted(LedgerUnavailable):
    """The ledger failed part-way through a receive: `results` tells each file, recorded or not (and why). A web
    request answers it as the ledger being away; the command prints every file, then this, and exits 2."""

    def __init__(self, cause: LedgerError, results: list[Received]) -> None:
        missing = sum(1 for r in results if r.reason == NOT_RECORDED)
        told = (f"{missing} 个文件未记录（见上），已存入存档；台账恢复后用同样的命令再运行一次即可补记，已记录的不会重复" if missing
                else "已收到的文件都已记录，但未能读出各单位的状态，也未能发出收件回执")
        super().__init__(f"收件中断：{cause}；{told}")
        self.results = results


def receive(folder: str | Path, paths: list[Path], note: str = "", by: str = "", bounds: Bounds | None = None,
            progress: Callable[[], None] | None = None, names: list[str] | None = None, unit: str | None = None,
            actor: Actor | None = None, ledger: Ledger | None = None) -> list[Received]:
    """Receive every file given; one entry per file, in the order given. `names`: the names people gave the files
    (an upload's), shown instead of the paths'. `unit`: the unit that handed them in (a unit's own web link): a
    file naming another unit is recorded for this one, as an error. `actor`: who handed them in, for the audit
    trail (default: the command line, named `by`). Each unit with an e-mail address is sent an acknowledgement.
    `ledger`: the folder's ledger, open already (a web request's), left open; else it is opened here."""
    bounds = bounds or Bounds()
    actor = actor or cli_actor(by)
    with nullcontext(ledger) if ledger is not None else Ledger(folder) as ledger:
        store = blob_store(ledger)
        results = [Received(safe_name(names[k]) if names else Path(display_name(p)).name) for k, p in enumerate(paths)]
        stored: list[tuple[int, int, int]] = []  # (index in paths, size, modification time)
        for index, path in enumerate(paths):
            try:
                results[index].sha256, size = store.put(path)
                stored.append((index, size, os.stat(path).st_mtime_ns))
            except (CampaignError, OSError) as exc:
                results[index].reason = str(exc)
        try:
            run, acknowledged = _record(ledger, paths, results, stored, note, by, unit, actor, bounds, progress)
            _tell_statuses(ledger, run, results)
        except LedgerError as exc:  # the ledger went away part-way: each file not recorded says so
            for index, *_rest in stored:
                if not results[index].receipt:
                    results[index].reason = NOT_RECORDED
            raise Interrupted(exc, results) from None
        queue_receipts(ledger, acknowledged)
        return results


def _record(ledger: Ledger, paths: list[Path], results: list[Received], stored: list[tuple[int, int, int]], note: str, by: str,
            unit: str | None, actor: Actor, bounds: Bounds, progress: Callable[[], None] | None) -> tuple[int, list[tuple[str, int]]]:
    """The archived files' run, checks and receipts: the run, and the (unit, receipt) of each new receipt of a roster unit."""
    owner = Owner.me(LEASE)
    run, done = _open_run(ledger, [(os.path.abspath(paths[i]), results[i].sha256, size, mtime) for i, size, mtime in stored],
                          note, by, owner)
    try:  # the run's claim is given up however this ends (a long-lived web server keeps running)
        todo = [results[index].sha256 for item, (index, *_rest) in enumerate(stored) if item not in done]
        reports, _checked = reports_for(ledger, todo, bounds, progress)
        roster = ledger.known_units(code for _item, (index, *_rest) in enumerate(stored) for code in _named(results[index], reports, unit))
        year = ledger.meta("year")
        pending: list[tuple[int, Received]] = []
        for item, (index, _size, _mtime) in enumerate(stored):
            result = results[index]
            if item in done:
                result.receipt, result.repeated = done[item], True
            else:
                pending.append((item, result))
        new: list[tuple[int, Received, NewReceipt]] = []
        for start in range(0, len(pending), BATCH):  # each batch decided just before it is recorded
            batch = [(item, r, _decide(r, reports[r.sha256], roster, year, note, by, unit)) for item, r in pending[start:start + BATCH]]
            _record_batch(ledger, run, owner, actor, batch)
            new += batch
        ledger.finish_run(run, owner, now())
    except BaseException:
        _give_up(ledger, run, owner)
        raise
    return run, [(receipt.unit_code, result.receipt) for _item, result, receipt in new if receipt.unit_code in roster]


def _record_batch(ledger: Ledger, run: int, owner: Owner, actor: Actor, batch: list[tuple[int, Received, NewReceipt]]) -> None:
    """Batching: many files' receipts, each with its audit line, in one transaction, so one commit serves them all.
    All or none: a kill or a failure inside leaves none of the batch (a re-run records it), and the results get
    their receipt ids only once committed. BATCH = 1 is the plain path, a transaction per file."""
    ids = []
    with ledger.writing():
        for item, result, receipt in batch:
            ids.append(ledger.add_receipt(run, item, receipt, owner))
            ledger.add_audit(actor.entry("receipt", receipt.unit_code, ids[-1], None, result.name))
    for (_item, result, _receipt), receipt_id in zip(batch, ids, strict=True):
        result.receipt = receipt_id


def _tell_statuses(ledger: Ledger, run: int, results: list[Received]) -> None:
    """Each recorded file's unit and summary, and its unit's status now: from two queries for the whole batch (the
    receipts and decisions of the units concerned), not three per file."""
    recorded = [r for r in results if r.receipt]
    if not recorded:
        return
    receipts, actions = ledger.histories(run)
    mine: dict[int, Receipt] = {r.id: r for unit_receipts in receipts.values() for r in unit_receipts}
    for result in recorded:
        receipt = mine[result.receipt]
        result.unit_code, result.reason = receipt.unit_code, receipt.summary
        result.status = status_of(receipts[receipt.unit_code], actions.get(receipt.unit_code, [])) if receipt.unit_code \
            else status_of([receipt], [])


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
    """The run stays open for the same batch to resume; a ledger that cannot take even this leaves the claim to this
    process's next run on it (`Ledger.release_run`), or to die with the process (the failure that stopped the run is
    the one told)."""
    with suppress(CampaignError):
        ledger.release_run(run, owner)


def _named(result: Received, reports: dict[str, FileReport], unit: str | None) -> list[str]:
    """The unit codes a file may count for (`_decide` keeps those of the roster)."""
    ident = reports[result.sha256].identity if result.sha256 in reports else None
    return [c for c in (ident.unit_code if ident else "", result.name.split("_", 1)[0], unit or "") if c]


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
