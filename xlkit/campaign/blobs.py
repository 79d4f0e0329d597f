"""The campaign's archive: every received file stored once under its sha256, never changed or deleted.

A blob is written to a temporary name in its folder, fsynced, then renamed, and the folder fsynced: after a crash a
blob is either whole or absent. The same bytes stored twice (or by two processes at once) end as one blob; a stored
copy found damaged when the same bytes come again is replaced by them (by the same rename: healed, never half)."""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path

from ..errors import CampaignError
from ..intake.package import MAX_FILE_BYTES
from .ledger import quoted

ARCHIVE = "archive"
CHUNK = 1 << 20


class BlobStore:
    def __init__(self, campaign: Path):
        self.root = campaign / ARCHIVE

    def path_of(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise CampaignError(f"{quoted(sha256, 80)}不是 sha256 摘要：应为 64 个十六进制字符（0-9、a-f），"
                                "即 xlkit history 显示的 sha256（status --json 的 last_sha256）")
        return self.root / sha256[:2] / sha256

    def put(self, source: Path) -> tuple[str, int]:
        """Copy a file in, hashing as it goes; returns (sha256, size). Raises CampaignError naming the file and the
        reason (too large, unreadable, disk full, folder not writable); then nothing is left behind."""
        try:
            info = source.stat()
        except OSError as exc:
            raise CampaignError(f"{source.name}：文件无法读取（{exc.strerror or exc}），未存档") from None
        if not stat.S_ISREG(info.st_mode):
            raise CampaignError(f"{source.name}：不是普通文件（文件夹、管道或设备），未存档")
        if info.st_size > MAX_FILE_BYTES:
            raise CampaignError(f"{source.name}：文件过大（{info.st_size // 1024 // 1024} MB），不是本表的报送文件，未存档")
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
