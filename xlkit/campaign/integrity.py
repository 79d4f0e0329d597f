"""The archive against the ledger: every received file is there, byte for byte, and can be given back (from the
folder's archive/ or from the database, `blobs.blob_store`)."""

from __future__ import annotations

from pathlib import Path

from ..bureau.clock import bureau_zone
from ..errors import CampaignError
from ..files import atomic_path
from .blobs import blob_store, valid_digest
from .ledger import Ledger
from .runs import describe, unfinished


def verify(folder: str | Path, zone: str = "Asia/Shanghai") -> tuple[int, list[str], list[str]]:
    """(blobs checked, problems, notes): a problem is a blob missing or changed; a note is an archived file no
    receipt refers to (left by a receive that was stopped before it recorded the file: harmless), or a receive run
    that died before recording every file. Writes nothing: read-only media can be verified."""
    with Ledger(folder, readonly=True) as ledger:
        store = blob_store(ledger)
        rows = ledger.blobs()
        problems = [f"{b.sha256}：{problem}" for b in rows if (problem := store.check(b.sha256, b.size))]
        referenced = ledger.received_blobs()
        known = {b.sha256 for b in rows}
        problems += [f"收件引用了台账中没有的存档 {sha}" for sha in referenced - known]
        notes = [f"存档中有未登记的文件 {name}（收件中断时留下，无害）" for name in store.strays(known)]
        notes += [f"存档 {sha} 没有收件记录（收件中断时留下，无害）" for sha in sorted(known - referenced)]
        notes += describe(unfinished(ledger), bureau_zone(zone))
        return len(rows), problems, notes


def copy_out(folder: str | Path, sha256: str, target: str | Path) -> int:
    """A received file given back byte-identical (checked against its sha256 first); returns its size."""
    sha256 = sha256.lower()
    with Ledger(folder, readonly=True) as ledger:
        store = blob_store(ledger)
        valid_digest(sha256)  # a malformed digest is refused before anything is looked up
        blob = ledger.blob(sha256)
        if blob is None:
            raise CampaignError(f"存档中没有 sha256 为 {sha256} 的文件")
        problem = store.check(sha256, blob.size)
        if problem:
            raise CampaignError(f"存档文件 {sha256} 有问题：{problem}；请运行 xlkit campaign verify")
        with atomic_path(target) as tmp:
            store.copy_to(sha256, tmp)
        return blob.size
