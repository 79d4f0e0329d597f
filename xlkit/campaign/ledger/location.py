"""Where a campaign's ledger lives. A folder with `ledger.sqlite` keeps it there (the default); a folder with
`ledger.json` names a PostgreSQL database and the schema of this campaign in it, and where the received bytes are
kept. The folder records the address, never a password: that comes from PGPASSWORD, a .pgpass file, or the file
named here (`password_file`), read at each connection."""

from __future__ import annotations

import json
import re
import secrets
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ...errors import CampaignError
from .records import quoted
from .sqlite import LEDGER

SETTINGS = "ledger.json"
BLOBS = ("folder", "database")
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True)
class Location:
    database: str  # postgresql://USER@HOST:PORT/DBNAME, no password
    schema: str
    blobs: str = "folder"  # folder: the folder's archive/; database: the bytes in the ledger's database
    password_file: str = ""  # a file holding the password only ("" : PGPASSWORD or .pgpass)

    @property
    def host(self) -> str:
        parts = urlsplit(self.database)
        return f"{parts.hostname or 'localhost'}:{parts.port or 5432}"


def location(folder: Path) -> Location | None:
    """The folder's database, or None when the ledger is the folder's SQLite file."""
    path = folder / SETTINGS
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        found = Location(str(data["database"]), str(data["schema"]), str(data.get("blobs", "folder")), str(data.get("password_file", "")))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise CampaignError(f"{path} 无法读取或不是台账设置（应有 database 与 schema 两项）；请从备份恢复该文件") from None
    check_address(found.database)
    if not SCHEMA_NAME.fullmatch(found.schema) or found.blobs not in BLOBS:
        raise CampaignError(f"{path} 中的 schema 或 blobs 设置无效（schema 为小写字母、数字和下划线；blobs 为 folder 或 database）")
    return found


def is_campaign(folder: Path) -> bool:
    return (folder / LEDGER).exists() or (folder / SETTINGS).exists()


def check_address(address: str) -> None:
    """A PostgreSQL address as the folder may record it: postgresql://USER@HOST:PORT/DBNAME, never a password."""
    parts = urlsplit(address)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname or not parts.path.strip("/"):
        raise CampaignError(f"数据库地址{quoted(address, 120)}无效：应为 postgresql://用户名@主机:端口/数据库名")
    if parts.password is not None or "password" in parse_qs(parts.query):
        raise CampaignError("数据库地址中不能写密码（报送任务目录会记下地址）：请用环境变量 PGPASSWORD、.pgpass 文件或 --db-password-file 指定的文件")


def default_schema(folder: Path) -> str:
    """A schema name of its own for a new campaign: the folder's name in ASCII where it has some, and a random tail."""
    ascii_name = unicodedata.normalize("NFKD", folder.resolve().name).encode("ascii", "ignore").decode().lower()
    stem = re.sub(r"[^a-z0-9]+", "_", ascii_name).strip("_")[:40]
    return f"xlkit_{stem + '_' if stem else ''}{secrets.token_hex(3)}"


def write_location(folder: Path, found: Location) -> None:
    """Written last and whole (a temporary file renamed): a folder names its database completely or not at all."""
    path = folder / SETTINGS
    tmp = path.with_name(SETTINGS + ".tmp")
    tmp.write_text(json.dumps(asdict(found), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
