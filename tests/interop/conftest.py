"""A real headless LibreOffice, started and stopped by the fixtures, with a private profile."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid

import pytest
from office import (
    SYSTEM_PYTHON,
    Office,
)

HOW_TO_INSTALL = "apt-get install libreoffice-calc-nogui python3-uno fonts-noto-cjk poppler-utils"


def _has_uno() -> bool:
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    return subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], capture_output=True).returncode == 0


@pytest.fixture(scope="session")
def libreoffice(tmp_path_factory):
    soffice = shutil.which("soffice")
    missing = [name for name, ok in (("soffice", soffice), ("python3-uno", _has_uno()), ("pdftoppm", shutil.which("pdftoppm")),
                                      ("pdffonts", shutil.which("pdffonts"))) if not ok]
    if missing:
        message = f"LibreOffice interop needs {', '.join(missing)}: {HOW_TO_INSTALL}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)  # under CI these tests must run
        pytest.skip(message)
    profile = tmp_path_factory.mktemp("lo_profile")
    pipe = f"xlkit_{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(
        [soffice, "--headless", "--invisible", "--nologo", "--norestore", "--nodefault", "--nolockcheck",
         f"-env:UserInstallation={profile.as_uri()}", f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    office = Office(pipe, process)
    try:
        yield office
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def text_scale(libreoffice, tmp_path_factory):
    """How high pdftotext's box of 10 pt text in our font is when printed at 100 %: the yardstick for sizes."""
    import xlsxwriter

    from xlkit.write.build import FONT

    folder = tmp_path_factory.mktemp("yardstick")
    book = xlsxwriter.Workbook(str(folder / "ten.xlsx"))
    ws = book.add_worksheet("一")
    ws.write_string(0, 0, "十磅字样 10 pt", book.add_format({"font_name": FONT, "font_size": 10}))
    book.close()
    libreoffice.run([{"op": "pdf", "path": str(folder / "ten.xlsx"), "out": str(folder / "ten.pdf")}])
    bbox = subprocess.run(["pdftotext", "-bbox", str(folder / "ten.pdf"), "-"], capture_output=True, text=True).stdout
    return max(float(y2) - float(y1) for y1, y2 in re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', bbox)) / 10
