"""Open an .xlsx package safely: classify by content, refuse hostile zips and XML.

Nothing in a returned file is trusted: sizes declared in the zip, the number
of entries, names, and XML declarations are all checked before any XML is
parsed, and reads are capped whatever the headers say.
"""

from __future__ import annotations

import errno
import io
import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from xml.etree.ElementTree import Element

import deflate
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
    data: bytes = b""  # the whole file, as the zip directory was read from it

    def read(self, name: str, limit: int = MAX_ENTRY_BYTES) -> bytes:
        """An entry's bytes, never more than `limit` whatever its header says."""
        info = self.zip.getinfo(name)
        code = "zip-bomb" if limit >= MAX_ENTRY_BYTES else "part-too-large"
        if info.file_size > limit:
            raise FileProblem(code, f"{name}：{info.file_size // 1024} KB，上限 {limit // 1024} KB")
        data = _inflated(self.data, info)
        if data is None:  # anything but a plain, intact entry: zipfile reads it (and raises what it raises)
            with self.zip.open(info) as handle:
                data = handle.read(limit + 1)
        if len(data) > limit:
            raise FileProblem(code, f"{name}：解压后超过 {limit // 1024} KB")
        return data

    def xml(self, name: str, limit: int = MAX_ENTRY_BYTES) -> Element:
        return parse_xml(name, self.read(name, limit))

    def close(self) -> None:
        self.zip.close()


LOCAL_HEADER = struct.Struct("<4s2xH18xHH")  # signature, flags, name and extra lengths (the rest is the directory's)


def _inflated(data: bytes, info: zipfile.ZipInfo) -> bytes | None:
    """A stored or deflated entry's bytes, inflated straight from the file: what zipfile gives for an intact entry,
    without its stream machinery, by libdeflate (the whole part at once, in a third of zlib's time). None for anything
    else (encrypted, another method, a local header that disagrees with the directory, a size or checksum that does
    not match), which zipfile then reads."""
    at = info.header_offset
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or at + 30 > len(data):
        return None
    signature, flags, name_length, extra_length = LOCAL_HEADER.unpack_from(data, at)
    start = at + 30 + name_length + extra_length
    try:
        name = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
    except UnicodeEncodeError:
        return None
    if signature != b"PK\x03\x04" or flags & 0x21 or data[at + 30:at + 30 + name_length] != name \
            or start + info.compress_size > len(data):  # 0x21: encrypted, or patched data zipfile refuses
        return None
    compressed = memoryview(data)[start:start + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        out = bytes(compressed)
    elif info.file_size:
        try:  # libdeflate, into a buffer of exactly the declared size: a longer stream is an error
            out = bytes(deflate.deflate_decompress(compressed, info.file_size))
        except deflate.DeflateError:
            return None
    else:  # declared empty: the stream must still be a valid one
        inflater = zlib.decompressobj(-15)
        try:
            out = inflater.decompress(compressed, 1)
        except zlib.error:
            return None
        if not inflater.eof:
            return None
    return out if len(out) == info.file_size and deflate.crc32(out) == info.CRC else None


def parse_xml(name: str, data: bytes) -> Element:
    """A part's XML tree; a FileProblem naming the part for a DTD or anything that is not well-formed XML."""
    if _plain_utf8(data):
        # No DTD means no entity can be declared: expat's C parser is then as safe as defusedxml's and much faster.
        if DTD.search(data):
            raise FileProblem("xml-dtd", f"{name}：含 DOCTYPE 声明")
        try:
            return ElementTree.fromstring(data)
        except (ElementTree.ParseError, LookupError, ValueError) as exc:  # LookupError: an unknown declared encoding
            raise FileProblem("xml-malformed", _where(name, exc)) from None
    try:
        element: Element = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        return element
    except DefusedXmlException:
        raise FileProblem("xml-dtd", f"{name}：含实体或外部引用") from None
    except Exception as exc:  # ParseError and friends
        raise FileProblem("xml-malformed", _where(name, exc)) from None


def _where(name: str, exc: Exception) -> str:
    """Where a part stops being XML, said for a person: the part, and the line and column when the parser knows."""
    position = getattr(exc, "position", None)
    return f"{name} 第 {position[0]} 行第 {position[1]} 列" if position else f"{name} 无法解析"


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
        info = path.stat()  # follows a link: a dangling link or a loop fails here
    except OSError as exc:
        raise FileProblem("file-unreadable", _os_reason(exc)) from None
    if stat.S_ISDIR(info.st_mode):
        raise FileProblem("file-unreadable", "这是文件夹（或指向文件夹的链接），不是文件")
    if not stat.S_ISREG(info.st_mode):
        raise FileProblem("file-unreadable", "不是普通文件（管道、设备或套接字）")
    if info.st_size == 0:
        raise FileProblem("file-empty")
    if info.st_size > MAX_FILE_BYTES:
        raise FileProblem("file-too-large", f"{info.st_size // 1024 // 1024} MB")
    try:
        with path.open("rb") as handle:
            data = handle.read(info.st_size + 1)  # not read(MAX + 1): that sets aside 50 MB for every file
            if len(data) > info.st_size:  # it grew since it was measured
                data += handle.read(MAX_FILE_BYTES + 1 - len(data))
    except OSError as exc:
        raise FileProblem("file-unreadable", _os_reason(exc)) from None
    if len(data) > MAX_FILE_BYTES:
        raise FileProblem("file-too-large", f"{len(data) // 1024 // 1024} MB")
    if data.startswith(OLE_MAGIC):
        raise FileProblem(_ole_kind(data))
    if not data.startswith(ZIP_MAGIC):
        if data.startswith(b"%PDF"):
            raise FileProblem("other-format", "PDF 文档")
        head = data[:64].lstrip().lower()
        kind = "网页（HTML）" if head.startswith((b"<!doctype html", b"<html")) else "文本" if _looks_text(data[:512]) else "无法识别的数据"
        raise FileProblem("not-a-zip", kind)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise FileProblem("corrupt-zip", "压缩包目录无法读取") from None
    _vet_entries(infos)
    names = {i.filename for i in infos}
    package = Package(path, archive, names, data=data)
    if "word/document.xml" in names:
        raise FileProblem("other-format", "Word 文档")
    if "ppt/presentation.xml" in names:
        raise FileProblem("other-format", "PowerPoint 演示文稿")
    if "mimetype" in names and b"opendocument" in _head(archive, "mimetype"):
        raise FileProblem("other-format", "ODF 文档（.ods/.odt，WPS 或 LibreOffice 格式）")
    if "xl/workbook.bin" in names:
        raise FileProblem("xlsb-binary")
    if any(i.flag_bits & 0x1 for i in infos):
        raise FileProblem("encrypted", "压缩条目已加密")
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise FileProblem("no-workbook", "内含：" + "、".join(sorted(names)[:5]))
    if "xl/vbaProject.bin" in names:
        package.notes.append(("macro-enabled", ""))
    return package


def _head(archive: zipfile.ZipFile, name: str) -> bytes:
    with archive.open(name) as handle:
        return handle.read(100)


def _os_reason(exc: OSError) -> str:
    reasons = {errno.ELOOP: "符号链接循环", errno.ENOENT: "文件不存在（或链接指向的文件已不存在）", errno.EACCES: "没有读取权限",
               errno.EPERM: "没有读取权限", errno.ENAMETOOLONG: "文件名过长", errno.EISDIR: "这是文件夹"}
    return reasons.get(exc.errno or 0, f"系统错误（errno {exc.errno}）")


def _looks_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _vet_entries(infos: list[Any]) -> None:
    if len(infos) > MAX_ENTRIES:
        raise FileProblem("too-many-entries", f"{len(infos)} 个条目")
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
            raise FileProblem("duplicate-entry", f"{name}，仅大小写不同")
        seen.add(name)
        folded.add(name.lower())
        if info.file_size > MAX_ENTRY_BYTES:
            raise FileProblem("zip-bomb", f"{name} 声明解压后 {info.file_size} 字节")
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise FileProblem("zip-bomb", f"{name} 压缩比 {info.file_size // max(info.compress_size, 1)}:1")
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise FileProblem("zip-bomb", f"解压后共 {total} 字节")
