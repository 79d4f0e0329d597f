"""Talk to the LibreOffice that the fixture started, through lo_driver.py under the system python3."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"
DRIVER = Path(__file__).with_name("lo_driver.py")


class Office:
    def __init__(self, pipe: str, process: subprocess.Popen):
        self.pipe, self.process = pipe, process

    def run(self, jobs: list[dict], timeout: float = 600) -> list[dict]:
        started = time.monotonic()
        for attempt in range(2):  # a driver killed by a signal before it did anything is tried once more, loudly
            result = subprocess.run([SYSTEM_PYTHON, str(DRIVER), self.pipe], input=json.dumps(jobs, ensure_ascii=False),
                                    capture_output=True, text=True, timeout=timeout)
            if not (result.returncode < 0 and not result.stdout and attempt == 0):
                break
            print(f"LibreOffice driver killed by signal {-result.returncode}; trying once more", file=sys.stderr)
        if result.returncode != 0:
            raise AssertionError(f"LibreOffice driver failed (exit {result.returncode}, {time.monotonic() - started:.0f} s, "
                                 f"LibreOffice {'running' if self.process.poll() is None else 'gone'}): "
                                 f"{result.stderr[-2000:]} {result.stdout[-500:]}")
        out = json.loads(result.stdout)
        errors = [r["error"] for r in out if "error" in r]
        assert not errors, errors
        return out


def cells_of(layout, slots=None) -> list[list[str]]:
    return [[s.sheet, s.address] for s in (slots if slots is not None else layout.fields.values())]

