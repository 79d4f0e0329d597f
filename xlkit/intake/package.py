"""Open an .xlsx package safely: classify by content, refuse hostile zips and XML.

Nothing in a returned file is trusted: sizes declared in the zip, the number
of entries, names, and XML declarations are all checked before any XML is
parsed, and reads are capped whatever the headers say.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from ..errors import FileProblem

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ENTRIES = 1000
MAX_ENTRY_BYTES = 32 * 1024 * 1024  # uncompressed; a filled form's largest part is well under 1 MB
MAX_TOTAL_BYTES = 96 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, for entries over 1 MB


@dataclass
class Package:
    path: Path
    zip: zipfile.ZipFile
    names: set[str]
    notes: list[tuple[str, str]] = field(default_factory=list)  # (code, detail) warnings about the package

    def read(self, name: str) -> bytes:
        info = self.zip.getinfo(name)
        with self.zip.open(info) as handle:
            data = handle.read(MAX_ENTRY_BYTES + 1)
        if len(data) > MAX_ENTRY_BYTES:
            raise FileProblem("zip-bomb", f"{name} inflates beyond {MAX_ENTRY_BYTES // 1024 // 1024} MB")
        return data

    def xml(self, name: str) -> Element:
        data = self.read(name)
        if _plain_utf8(data):
            # No DTD means no entity can be declared: expat's C parser is then as safe as defusedxml's and much faster.
            if DTD.search(data):
                raise FileProblem("xml-dtd", f"{name}: DOCTYPE")
            try:
                return ElementTree.fromstring(data)
            except ElementTree.ParseError as exc:
                raise FileProblem("xml-malformed", f"{name}: {exc}") from None
        try:
            return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        except DefusedXmlException as exc:
            raise FileProblem("xml-dtd", f"{name}: {type(exc).__name__}") from None
        except Exception as exc:  # ParseError and friends
            raise FileProblem("xml-malformed", f"{name}: {exc}") from None

    def close(self) -> None:
        self.zip.close()


DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _plain_utf8(data: bytes) -> bool:
    """XML that starts with `<` in UTF-8 (BOM allowed): a DTD in it is visible to a byte scan."""
    return data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _ole_kind(data: bytes) -> str:
    if "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode("utf-16-le") in data:
        return "encrypted"
    return "legacy-binary"


def open_package(path: str | Path) -> Package:
    """Classify the file by its bytes, then vet the zip directory."""
    path = Path(path)
    if path.name.startswith("~$"):
        raise FileProblem("lock-file", path.name)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FileProblem("file-unreadable", exc.strerror or str(exc)) from None
    if size == 0:
        raise FileProblem("file-empty")
    if size > MAX_FILE_BYTES:
        raise FileProblem("file-too-large", f"{size // 1024 // 1024} MB")
    data = path.read_bytes()
    if data.startswith(OLE_MAGIC):
        raise FileProblem(_ole_kind(data))
    if not data.startswith(ZIP_MAGIC):
        head = data[:64].lstrip().lower()
        kind = "HTML" if head.startswith((b"<!doctype html", b"<html")) else "text" if _looks_text(data[:512]) else "binary"
        raise FileProblem("not-a-zip", kind)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise FileProblem("corrupt-zip", str(exc)) from None
    _vet_entries(infos)
    names = {i.filename for i in infos}
    package = Package(path, archive, names)
    if "xl/workbook.bin" in names:
        raise FileProblem("xlsb-binary")
    if any(i.flag_bits & 0x1 for i in infos):
        raise FileProblem("encrypted", "zip entries are encrypted")
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise FileProblem("no-workbook", ", ".join(sorted(names)[:5]))
    if "xl/vbaProject.bin" in names:
        package.notes.append(("macro-enabled", ""))
    return package


def _looks_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _vet_entries(infos: list[Any]) -> None:
    if len(infos) > MAX_ENTRIES:
        raise FileProblem("too-many-entries", f"{len(infos)} entries")
    seen: set[str] = set()
    folded: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
            raise FileProblem("unsafe-entry-name", name)
        if name in seen:
            raise FileProblem("duplicate-entry", name)
        if name.lower() in folded:
            raise FileProblem("duplicate-entry", f"{name} (differs only in case)")
        seen.add(name)
        folded.add(name.lower())
        if info.file_size > MAX_ENTRY_BYTES:
            raise FileProblem("zip-bomb", f"{name} declares {info.file_size} bytes")
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise FileProblem("zip-bomb", f"{name} inflates {info.file_size // max(info.compress_size, 1)}:1")
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise FileProblem("zip-bomb", f"{total} bytes uncompressed in all")
