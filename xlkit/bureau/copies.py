"""Near-identical long texts among many units: character shingles, one-permutation MinHash and LSH bands pick the
candidate pairs (never all pairs: 10,000 units stay fast), and the exact Jaccard of their shingle sets decides."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BINS, ROWS, SLOT_BITS = 64, 4, 6  # MinHash slots, and slots per LSH band: a pair sharing half its shingles is a candidate most times
PRIME = np.uint64(1_099_511_628_211)  # the rolling hash's multiplier (FNV's 64-bit prime)
MIX = np.uint64(0x9E3779B97F4A7C15)
COARSE = 20  # bits of the buckets that count shingles before the exact count of the frequent ones
NOT_LETTERS = re.compile(r"[\W\d_]+")  # numbers (any script's digits), punctuation, spaces, symbols
FIRST = np.ones(1, dtype=bool)  # a sorted run's first element starts a new value (np.r_ cost 8 µs a text)


@dataclass(frozen=True)
class Text:
    """One unit's texts of one year: `names` (its own name, its department's) are removed before comparing."""

    key: str  # the unit's code
    text: str
    names: tuple[str, ...] = ()
    last_year: bool = False


@dataclass(frozen=True)
class Pair:
    first: int  # indices into the texts given
    second: int
    share: float  # Jaccard of the two shingle sets: the share of text in common


def normalise(text: str, names: Sequence[str] = ()) -> str:
    """What is left to compare once names, numbers and punctuation are removed (longest name first: a department's
    name inside its unit's is removed whole)."""
    for name in sorted((n for n in names if n), key=len, reverse=True):
        text = text.replace(name, "")
    return NOT_LETTERS.sub("", text)


def shingles(texts: Sequence[str], size: int) -> list[np.ndarray]:
    """The distinct `size`-character shingles of each text, each a 64-bit hash (sorted): one rolling hash over all
    the texts at once, then cut per text (a shingle never spans two)."""
    points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    count = max(len(points) - size + 1, 0)
    hashed = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):  # arithmetic modulo 2**64 is the point
        for k in range(size):
            hashed = hashed * PRIME + points[k:k + count]
        hashed ^= hashed >> np.uint64(31)
        hashed *= MIX
        hashed ^= hashed >> np.uint64(29)
    out, start = [], 0
    for text in texts:
        own = np.sort(hashed[start:start + len(text) - size + 1]) if len(text) >= size else np.empty(0, np.uint64)
        out.append(own[np.concatenate((FIRST, own[1:] != own[:-1]))] if len(own) else own)
        start += len(text)
    return out


def _wording(sets: Sequence[np.ndarray], limit: float, min_common: int) -> np.ndarray:
    """The shingles in more than `limit` of the sets and in at least `min_common`: counted exactly only for those
    whose coarse bucket holds enough (one pass of bincount, not a sort of every shingle)."""
    every = np.concatenate(sets) if sets else np.empty(0, np.uint64)
    buckets = (every >> np.uint64(64 - COARSE)).astype(np.intp)
    heavy = np.bincount(buckets, minlength=2**COARSE) >= max(limit, min_common)
    values, counts = np.unique(every[heavy[buckets]], return_counts=True)
    return values[(counts > limit) & (counts >= min_common)]


def _without(sets: Sequence[np.ndarray], wording: np.ndarray) -> list[np.ndarray]:
    """Each set less the form's wording (sorted, as `_wording` gives it): every set's shingles looked up in it at once
    by bisection (an `isin` per set was a third of the 审核's time at ten thousand units), then cut back into sets."""
    if not sets or not len(wording):
        return list(sets)
    lengths = np.fromiter((len(s) for s in sets), dtype=np.intp, count=len(sets))
    every = np.concatenate(sets)
    at = np.minimum(np.searchsorted(wording, every), len(wording) - 1)
    keep = wording[at] != every
    kept = np.bincount(np.repeat(np.arange(len(sets)), lengths)[keep], minlength=len(sets))
    return np.split(every[keep], np.cumsum(kept)[:-1])


def _signature(hashes: np.ndarray, index: int) -> np.ndarray:
    """One-permutation MinHash of sorted hashes: the smallest in each of BINS slots (the top bits), which is the
    first of its slot; an empty slot holds a value of its text alone, so two texts never agree on emptiness."""
    slots = (hashes >> np.uint64(64 - SLOT_BITS)).astype(np.intp)
    first = np.concatenate((FIRST, slots[1:] != slots[:-1])) if len(slots) else np.empty(0, dtype=bool)
    signature = np.full(BINS, np.uint64(index), dtype=np.uint64)  # no shingle hashes to a small number in practice
    signature[slots[first]] = hashes[first]
    return signature


def near_copies(texts: Sequence[Text], size: int, threshold: float, min_chars: int, common: float,
                min_common: int) -> list[Pair]:
    """Pairs of texts of different units, not both last year's, sharing at least `threshold` of their shingles.
    A shingle in more than `common` of the texts (and in at least `min_common`) is the form's own wording and is
    left out; a text with fewer than `min_chars` shingles left is not judged."""
    sets = shingles([normalise(t.text, t.names) for t in texts], size)
    wording = _wording(sets, common * len(texts), min_common)
    if len(wording):
        sets = _without(sets, wording)
    judged = [k for k, s in enumerate(sets) if len(s) >= min_chars]
    buckets: dict[bytes, list[int]] = {}
    for k in judged:
        signature = _signature(sets[k], k)
        for band in range(BINS // ROWS):
            buckets.setdefault(bytes([band]) + signature[band * ROWS:(band + 1) * ROWS].tobytes(), []).append(k)
    candidates = {(a, b) for members in buckets.values() if len(members) > 1
                  for i, a in enumerate(members) for b in members[i + 1:]}
    pairs = []
    for a, b in sorted(candidates):
        if texts[a].key == texts[b].key or (texts[a].last_year and texts[b].last_year):
            continue  # a unit's own text of last year is no copy; last year's pairs were last year's 审核
        common_count = len(np.intersect1d(sets[a], sets[b], assume_unique=True))
        share = common_count / (len(sets[a]) + len(sets[b]) - common_count)
        if share >= threshold:
            pairs.append(Pair(a, b, share))
    return pairs
