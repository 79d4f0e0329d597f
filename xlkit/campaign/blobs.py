"""The campaign's archive: every received file stored once under its sha256, never changed or deleted.

Two stores with the same methods, chosen by `blob_store` from where the campaign's ledger lives: the folder's
`archive/` (the default), or the ledger's PostgreSQL database (`--blobs database`, `DatabaseBlobStore`), so that
several machines need nothing but the database. In the folder, a blob is written to a temporary name in its folder,
fsynced, then renamed, and the folder fsynced: after a crash a blob is either whole or absent. The same bytes stored
twice (or by two processes at once) end as one blob; a stored copy found damaged when the same bytes come again is
replaced by them (by the same rename: healed, never half)."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import CampaignError
from ..intake.package import MAX_FILE_BYTES
from .ledger import Ledger, quoted

ARCHIVE = "archive"
CHUNK = 1 << 20


def blob_store(ledger: Ledger) -> BlobStore | DatabaseBlobStore:
    """The campaign's store: its database when its location says `blobs: database`, else the folder's archive/."""
    return DatabaseBlobStore(ledger) if ledger.blobs_in_database() else BlobStore(ledger.folder)


def valid_digest(sha256: str) -> str:
    """A sha256 as the stores take it; anything else is refused before it is looked up (or used in a path)."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise CampaignError(f"{quoted(sha256, 80)}不是 sha256 摘要：应为 64 个十六进制字符（0-9、a-f），"
                            "即 xlkit history 显示的 sha256（status --json 的 last_sha256）")
    return sha256


def _receivable(source: Path) -> int:
    """The size of a file that may be archived; else CampaignError naming it and why not."""
    try:
        info = source.stat()
    except OSError as exc:
        raise CampaignError(f"{source.name}：文件无法读取（{exc.strerror or exc}），未存档") from None
    if not stat.S_ISREG(info.st_mode):
        raise CampaignError(f"{source.name}：不是普通文件（文件夹、管道或设备），未存档")
    if info.st_size > MAX_FILE_BYTES:
        raise CampaignError(f"{source.name}：文件过大（{info.st_size // 1024 // 1024} MB），不是本表的报送文件，未存档")
    return info.st_size


class BlobStore:
    """The folder's archive/: blob `ab/abcd…` by its sha256."""

    def __init__(self, campaign: Path):
        self.root = campaign / ARCHIVE

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / valid_digest(sha256)

    def put(self, source: Path) -> tuple[str, int]:
        """Copy a file in, hashing as it goes; returns (sha256, size). Raises CampaignError naming the file and the
        reason (too large, unreadable, disk full, folder not writable); then nothing is left behind."""
        _receivable(source)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle, tmp_name = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        except OSError as exc:
            raise CampaignError(f"无法写入存档目录 {self.root}：{exc.strerror or exc}") from None
        tmp = Path(tmp_name)
        try:
            digest, size = hashlib.sha256(), 0
            with os.fdopen(handle, "wb") as out:
                try:
                    source_handle = source.open("rb")
                except OSError as exc:
                    raise CampaignError(f"{source.name}：文件无法读取（{exc.strerror or exc}）") from None
                with source_handle:
                    while chunk := source_handle.read(CHUNK):
                        size += len(chunk)
                        if size > MAX_FILE_BYTES:
                            raise CampaignError(f"{source.name}：文件过大（超过 {MAX_FILE_BYTES // 1024 // 1024} MB），不是本表的报送文件，未存档")
                        digest.update(chunk)
                        out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            target = self.path_of(sha)
            target.parent.mkdir(exist_ok=True)
            if self._intact(target, sha, size):
                tmp.unlink()
            else:
                os.chmod(tmp, 0o444)
                os.replace(tmp, target)
                _fsync_folder(target.parent)
            return sha, size
        except OSError as exc:
            raise CampaignError(f"{source.name}：写入存档失败（{exc.strerror or exc}），未记录") from None
        finally:
            if tmp.exists():
                tmp.unlink()

    @staticmethod
    def _intact(target: Path, sha256: str, size: int) -> bool:
        """The stored copy has these very bytes (a damaged one, even of the same size, is then replaced whole)."""
        try:
            return target.stat().st_size == size and _hash(target) == sha256
        except OSError:
            return False

    def check(self, sha256: str, size: int) -> str:
        """'' when the blob is there with these bytes, else what is wrong (in Chinese)."""
        path = self.path_of(sha256)
        if not path.is_file():
            return "存档文件缺失"
        if path.stat().st_size != size:
            return f"大小不符（台账 {size} 字节，存档 {path.stat().st_size} 字节）"
        if _hash(path) != sha256:
            return "内容与摘要不符（存档文件被改动）"
        return ""

    @contextmanager
    def readable(self, shas: list[str]) -> Iterator[list[Path]]:
        """Paths the checker can read, one per blob: the archive's own."""
        yield [self.path_of(sha) for sha in shas]

    def copy_to(self, sha256: str, target: Path) -> None:
        shutil.copyfile(self.path_of(sha256), target)

    def strays(self, known: set[str]) -> list[str]:
        """Archived files the ledger does not know (a receive stopped before it registered them)."""
        return sorted(p.name for p in self.root.glob("??/*") if p.name not in known) if self.root.is_dir() else []


class DatabaseBlobStore:
    """The bytes in the ledger's database (`blob_data`), one row per sha256 written in one transaction: a blob is
    whole or absent, the same bytes twice are one row, and a stored copy found damaged when the same bytes come again
    is replaced by them. The checker reads files: the blobs it needs are written to a private temporary folder for
    the check and removed after."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger

    def put(self, source: Path) -> tuple[str, int]:
        _receivable(source)
        try:
            with source.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise CampaignError(f"{source.name}：文件无法读取（{exc.strerror or exc}），未存档") from None
        if len(data) > MAX_FILE_BYTES:
            raise CampaignError(f"{source.name}：文件过大（超过 {MAX_FILE_BYTES // 1024 // 1024} MB），不是本表的报送文件，未存档")
        sha = hashlib.sha256(data).hexdigest()
        self.ledger.put_blob_data(sha, data)
        return sha, len(data)

    def _intact(self, sha256: str, size: int) -> tuple[bytes | None, str]:
        data = self.ledger.blob_data(valid_digest(sha256))
        if data is None:
            return None, "存档文件缺失（数据库中没有其内容）"
        if len(data) != size:
            return None, f"大小不符（台账 {size} 字节，数据库中 {len(data)} 字节）"
        if hashlib.sha256(data).hexdigest() != sha256:
            return None, "内容与摘要不符（数据库中的文件内容被改动）"
        return data, ""

    def check(self, sha256: str, size: int) -> str:
        """'' when the database holds these bytes, else what is wrong (in Chinese)."""
        return self._intact(sha256, size)[1]

    @contextmanager
    def readable(self, shas: list[str]) -> Iterator[list[Path]]:
        """Each blob written to a private temporary folder (mode 0700), named by its sha256 as in the archive;
        the folder is removed however the check ends."""
        folder = Path(tempfile.mkdtemp(prefix="xlkit-blobs-"))
        try:
            paths = []
            for sha in shas:
                data = self.ledger.blob_data(valid_digest(sha))
                if data is None:
                    raise CampaignError(f"数据库中没有存档 {sha} 的内容，无法审核；请运行 xlkit campaign verify")
                path = folder / sha
                path.write_bytes(data)
                paths.append(path)
            yield paths
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def copy_to(self, sha256: str, target: Path) -> None:
        data = self.ledger.blob_data(valid_digest(sha256))
        if data is None or hashlib.sha256(data).hexdigest() != sha256:
            raise CampaignError(f"存档文件 {sha256} 有问题：数据库中没有其完好的内容；请运行 xlkit campaign verify")
        target.write_bytes(data)

    def strays(self, known: set[str]) -> list[str]:
        """None listed: bytes stored by a receive stopped before it registered them take no room in the folder, and
        are reused when the same file comes again."""
        return []


def _hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
