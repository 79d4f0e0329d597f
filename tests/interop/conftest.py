"""A real headless LibreOffice, started and stopped by the fixtures, with a private profile."""

from __future__ import annotations

import os
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
