"""The ledger's operations on receive runs and on units' upload slots: claimed by rows (an owner with a lease), so
that every process sharing the database, on this host or another, sees who is at work, and a claim whose process
died (kill -9, power loss) is known dead and given up by the next run."""

from __future__ import annotations

import time
from typing import Any

from .backend import Backend, LedgerError
from .records import Action, NewReceipt, OpenRun, Owner, Receipt, now

LEASE = 600.0  # seconds a claim from another host holds without being renewed (each receipt renews a run's)
OWNER = "host, pid, since, expires"
ACTION = "id, unit_code, kind, at, by, text, receipt, letter"  # as Ledger.actions reads them
MINE = "host = ? AND pid = ? AND since = ?"
# Claims this process gave up while the ledger could not take it (its server gone, its file locked), by ledger: the
# next run this process starts on that ledger drops them first. Else the same process (a web server), retrying the
# batch once the ledger is back, would find its own claim alive on the run, start another, and record twice.
_STRANDED: dict[str, set[tuple[int, Owner]]] = {}


def _mine(owner: Owner) -> tuple[str, int, str]:
    return owner.host, owner.pid, owner.since


class RunOps:
    _db: Backend
    _tables: set[str]

    def start_run(self, key: str, files: int, blobs: list[tuple[str, int, str]], started_at: str, owner: Owner
                  ) -> tuple[int, dict[int, int]]:
        """The run of a batch (by its key) and the receipts it already has (item -> receipt id), claimed for `owner`.
        In one transaction: claims of dead owners are dropped and their runs closed where every file was recorded;
        the batch's blobs (sha256, size, stored at) are registered; an earlier run of the same batch nobody holds is
        taken over (a re-run after a kill resumes it; after its end, finds every file recorded), else a new one."""
        stranded = list(_STRANDED.get(self._db.where, ()))
        with self._db.transaction(durable=False):  # the receipts' commit makes it durable
            if stranded:
                self._db.run_many(f"DELETE FROM claims WHERE run = ? AND {MINE}", [(run, *_mine(who)) for run, who in stranded])
            self._tidy(started_at)
            self._db.run_many("INSERT INTO blobs(sha256, size, stored_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", blobs)
            held = {run for (run,) in self._db.rows("SELECT run FROM claims")}
            free = [run for (run,) in self._db.rows("SELECT id FROM runs WHERE key = ? ORDER BY id DESC", (key,)) if run not in held]
            if free:
                run = int(free[0])
                done = {int(item): int(receipt) for item, receipt in self._db.rows("SELECT item, id FROM receipts WHERE run = ?", (run,))}
            else:
                run, done = self._db.insert("INSERT INTO runs(key, started_at, files) VALUES (?, ?, ?)", (key, started_at, files)), {}
            self._db.run(f"INSERT INTO claims(run, {OWNER}) VALUES (?, ?, ?, ?, ?)", (run, *_mine(owner), owner.expires))
        _STRANDED.get(self._db.where, set()).difference_update(stranded)
        return run, done

    def _tidy(self, stamp: str) -> None:
        claims = self._db.rows(f"SELECT run, {OWNER} FROM claims")
        dead = [(run,) for run, *who in claims if not Owner(*who).alive()]
        self._db.run_many("DELETE FROM claims WHERE run = ?", dead)
        for run, files, recorded, held in self._open_runs():
            if recorded >= files and not held:
                self._db.run("UPDATE runs SET finished_at = ? WHERE id = ?", (stamp, run))

    def _open_runs(self) -> list[tuple[int, int, int, bool]]:
        claims = "EXISTS (SELECT 1 FROM claims WHERE claims.run = runs.id)" if "claims" in self._tables else "0 = 1"
        return [(int(run), int(files), int(recorded), bool(held)) for run, files, recorded, held in self._db.rows(
            f"SELECT runs.id, runs.files, (SELECT COUNT(*) FROM receipts WHERE receipts.run = runs.id), {claims} FROM runs "
            "WHERE finished_at IS NULL ORDER BY runs.id")]

    def add_receipt(self, run: int, item: int, receipt: NewReceipt, owner: Owner) -> int:
        """One receipt, in its own transaction or the caller's (`receive` writes many in one); the run's claim is
        renewed with it."""
        r = receipt
        with self._db.transaction():  # stamped once the campaign's writers wait for this one: receipt order = time order
            new = self._db.insert(
                "INSERT INTO receipts(run, item, sha256, name, received_at, note, by, unit_code, form, errors, warnings, unexplained,"
                " summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run, item, r.sha256, r.name, max(r.received_at, now()), r.note, r.by, r.unit_code, r.form, r.errors, r.warnings,
                 r.unexplained, r.summary))
            self._db.run(f"UPDATE claims SET expires = ? WHERE run = ? AND {MINE}", (time.time() + LEASE, run, *_mine(owner)))
        return new

    def histories(self, run: int) -> tuple[dict[str, list[Receipt]], dict[str, list[Action]]]:
        """The receipts and decisions, by unit, of every unit a receipt of the run counts for, and the run's receipts
        that name no unit (under ""): two queries however many files the run had (the statuses after a receive)."""
        units = "unit_code IN (SELECT unit_code FROM receipts WHERE run = ? AND unit_code <> '')"
        receipts: dict[str, list[Receipt]] = {}
        for receipt in self._receipts(f"WHERE {units} OR run = ?", (run, run)):
            receipts.setdefault(receipt.unit_code, []).append(receipt)
        actions: dict[str, list[Action]] = {}
        for row in self._db.rows(f"SELECT {ACTION} FROM actions WHERE {units} ORDER BY id", (run,)):
            actions.setdefault(row[1], []).append(Action(*row))
        return receipts, actions

    def _receipts(self, where: str, params: tuple[Any, ...]) -> list[Receipt]:
        raise NotImplementedError  # Ledger's

    def finish_run(self, run: int, owner: Owner, stamp: str) -> None:
        with self._db.transaction(durable=False):  # lost in a power failure, the run looks died with every file recorded
            self._db.run("UPDATE runs SET finished_at = COALESCE(finished_at, ?) WHERE id = ?", (stamp, run))
            self._db.run(f"DELETE FROM claims WHERE run = ? AND {MINE}", (run, *_mine(owner)))

    def release_run(self, run: int, owner: Owner) -> None:
        """Given up unfinished (an error on the way): the run stays open, for the same batch to resume. A ledger that
        cannot take even this leaves the claim to this process's next run on it (`_STRANDED`)."""
        try:
            with self._db.transaction(durable=False):
                self._db.run(f"DELETE FROM claims WHERE run = ? AND {MINE}", (run, *_mine(owner)))
        except LedgerError:
            _STRANDED.setdefault(self._db.where, set()).add((run, owner))
            raise

    def open_runs(self) -> list[OpenRun]:
        """Runs not finished, with whether a live process holds each (read only: nothing is closed or dropped)."""
        owners = {int(run): Owner(*who) for run, *who in self._db.rows(f"SELECT run, {OWNER} FROM claims")} \
            if "claims" in self._tables else {}
        started = dict(self._db.rows("SELECT id, started_at FROM runs WHERE finished_at IS NULL"))
        return [OpenRun(run, str(started[run]), files, recorded, run in owners and owners[run].alive())
                for run, files, recorded, _held in self._open_runs()]

    def claims(self) -> list[tuple[int, Owner]]:
        """Every run's claim, dead or alive (what a kill -9 leaves until the next run tidies)."""
        if "claims" not in self._tables:
            return []
        return [(int(run), Owner(*who)) for run, *who in self._db.rows(f"SELECT run, {OWNER} FROM claims ORDER BY run")]

    def take_upload_slot(self, unit_code: str, owner: Owner) -> bool:
        """The unit's one upload at a time: taken unless a live owner holds it (a dead one's is taken over)."""
        with self._db.transaction(durable=False):
            row = self._db.row(f"SELECT {OWNER} FROM upload_slots WHERE unit_code = ?", (unit_code,))
            if row is not None and Owner(*row).alive():
                return False
            self._db.run(f"INSERT INTO upload_slots(unit_code, {OWNER}) VALUES (?, ?, ?, ?, ?) ON CONFLICT(unit_code) DO UPDATE SET "
                         "host = excluded.host, pid = excluded.pid, since = excluded.since, expires = excluded.expires",
                         (unit_code, *_mine(owner), owner.expires))
        return True

    def free_upload_slot(self, unit_code: str, owner: Owner) -> None:
        with self._db.transaction(durable=False):
            self._db.run(f"DELETE FROM upload_slots WHERE unit_code = ? AND {MINE}", (unit_code, *_mine(owner)))
