"""Personalised workbooks (distribution's fast path) in a real LibreOffice: each opens, and every formula's value
after a hard recalculation is the value cached in the file."""

from __future__ import annotations

from test_libreoffice import recalculation_parity
from test_personalise import one_shape

from xlkit.bureau.distribute import distribute


def test_personalised_workbooks_recalculate_in_libreoffice(libreoffice, spec, roster, registry, tmp_path):
    results = distribute(spec, one_shape(roster, tmp_path), 2019, tmp_path / "sent", issuer="岳阳市财政局")
    files = [r.path for r in results[1:4]]  # the first unit of the shape is the plain path's own
    assert recalculation_parity(libreoffice, files, spec, registry) == len(files)
