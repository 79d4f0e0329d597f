"""`xlkit campaign migrate`: a campaign's SQLite ledger moved into PostgreSQL, checked, then the folder switched.

While the rows are copied the SQLite ledger is held by a write transaction, so no receive, decision or upload can
slip in between; the copy is compared row for row and `campaign verify` runs on it (through a staging folder that
names the new ledger and shares the archive) before the folder's `ledger.json` is written. Until that moment the
folder uses its SQLite file as before, and any failure drops the new schema: a failed migration leaves the SQLite
ledger as it was. After it, the file is kept beside as `ledger.sqlite.migrated` (a backup nothing uses). With
`blobs: database` the archive's files are copied into the database as well, after the rows are compared and before
verify, which then re-hashes them there; `archive/` is left as it was."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from ..errors import CampaignError
from .blobs import BlobStore
from .integrity import verify
from .ledger import LEDGER, SCHEMA_VERSION, Ledger, Location, location
from .ledger.location import write_location
from .ledger.move import copy_rows, differences

MIGRATED = LEDGER + ".migrated"
STAGING = ".migrate-check"


def migrate_campaign(folder: str | Path, where: Location, progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Rows copied per table. Raises CampaignError saying what failed; then the folder is as it was."""
    folder = Path(folder)
    if location(folder) is not None:
        raise CampaignError(f"{folder} 的台账已在 PostgreSQL 上（ledger.json），无需迁移")
    if not (folder / LEDGER).is_file():
        raise CampaignError(f"{folder} 不是报送任务目录（没有 {LEDGER}）")
    with Ledger(folder) as source:  # an earlier schema is brought up to date, as by any command that writes
        if source.meta("schema") != str(SCHEMA_VERSION):
            raise CampaignError(f"台账版本为 {source.meta('schema')}，本程序迁移 {SCHEMA_VERSION} 版的台账")
        with source.writing():  # no other writer until the folder is switched over
            target = Ledger(folder, create=True, where=where)
            try:
                with target.writing():
                    counts = copy_rows(source, target, progress)
                problems = differences(source, target)
                if not problems and where.blobs == "database":
                    _copy_blobs(source, target)
                if not problems:
                    problems = _verified(folder, where)
                if problems:
                    raise CampaignError("迁移后的核对未通过，台账仍是原来的 SQLite 文件：" + "；".join(problems[:5]))
            except BaseException:
                with suppress(CampaignError):
                    target._db.drop()  # type: ignore[attr-defined]
                raise
            finally:
                target.close()
            write_location(folder, where)  # the switch: from here on every command uses the database
    for suffix in ("", "-wal", "-shm"):
        with suppress(OSError):
            (folder / (LEDGER + suffix)).rename(folder / (MIGRATED + suffix))
    return counts


def _copy_blobs(source: Ledger, target: Ledger) -> None:
    """Each registered blob's bytes from archive/ into the database, as found: a missing or changed file is left for
    verify to name (then nothing is switched)."""
    archive = BlobStore(source.folder)
    for blob in source.blobs():
        with suppress(OSError):
            target.put_blob_data(blob.sha256, archive.path_of(blob.sha256).read_bytes())


def _verified(folder: Path, where: Location) -> list[str]:
    """`campaign verify` on the new ledger, before the folder names it: a staging folder holding only its address
    and the archive shared by a link."""
    staging = folder / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        (staging / "archive").symlink_to(Path("..") / "archive", target_is_directory=True)
        write_location(staging, where)
        _count, problems, _notes = verify(staging)
        return [f"核对：{p}" for p in problems]
    finally:
        shutil.rmtree(staging, ignore_errors=True)
