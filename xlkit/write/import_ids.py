"""`spec import`: ASCII ids from Chinese labels (pinyin, when `pypinyin` is installed) or from positions. An id
depends only on its label and what came before it in the workbook, so importing the same form twice gives the same
spec; a collision takes the next free number."""

from __future__ import annotations

import re
from typing import Any

from ..form.placement import CELL_LIKE_NAME

NUMBERING = re.compile(r"^\s*([一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\([一二三四五六七八九十]+\)|[0-9]+[、.．]\s*)")
MAX_SLUG = 20
_PINYIN: Any = None


def pinyin_available() -> bool:
    global _PINYIN
    if _PINYIN is None:
        try:
            from pypinyin import lazy_pinyin

            _PINYIN = lazy_pinyin
        except ImportError:
            _PINYIN = False
    return bool(_PINYIN)


def slug(text: str) -> str:
    """`项目资金（万元）` -> `xiangmuzijin`: pinyin of the label without its numbering and bracketed unit."""
    if not pinyin_available():
        return ""
    text = NUMBERING.sub("", text or "")
    text = re.sub(r"[（(][^（）()]*[）)]", "", text) or text
    words = _PINYIN(text.replace("\n", ""))
    out = "".join(re.sub(r"[^a-z0-9]", "", w.lower()) for w in words)
    out = out.lstrip("0123456789")
    return out[:MAX_SLUG]


class Namer:
    """Unique names within one scope; `taken` is shared when two scopes must not collide (table ids, field ids)."""

    def __init__(self, taken: set[str] | None = None, whole: bool = False):
        self.taken = taken if taken is not None else set()
        self.whole = whole

    def name(self, wanted: str, fallback: str, whole: bool = False) -> str:
        base = wanted if wanted and re.fullmatch(r"[a-z_][a-z0-9_]*", wanted) else fallback
        if (whole or self.whole) and CELL_LIKE_NAME.match(base):  # a field id is a defined name: never one that reads as a cell
            base += "_"
        unique, n = base, 2
        while unique in self.taken:
            unique, n = f"{base}{n}", n + 1
        self.taken.add(unique)
        return unique


def template_id(stem: str, title: str) -> str:
    ascii_part = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    if not re.match(r"^[a-z]", ascii_part) or len(ascii_part) < 3:
        ascii_part = slug(title) or "imported-form"
    return ascii_part[:40].strip("-") or "imported-form"
