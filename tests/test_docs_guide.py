"""docs/forms.md's guide, run as written: every file block is written, every command is run in order and must end
with the exit code the guide gives (0 unless a `# exit N` comment says otherwise). A guide that goes stale fails."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

DOCS = Path(__file__).resolve().parents[1] / "docs" / "forms.md"
BLOCK = re.compile(r"^```(\w+)(?: file=(\S+))?\n(.*?)^```$", re.S | re.M)


def guide() -> list[tuple[str, str | None, str]]:
    text = DOCS.read_text(encoding="utf-8")
    start, end = text.index("## Writing a form: a guide"), text.index("## The spec reference")
    return [(m.group(1), m.group(2), m.group(3)) for m in BLOCK.finditer(text[start:end])]


def test_the_guide_has_files_and_commands():
    blocks = guide()
    assert [name for _kind, name, _text in blocks if name] == ["monitor.yaml", "projects.csv", "P001.json"]
    assert sum(text.count("$ xlkit") for kind, _name, text in blocks if kind == "console") == 7


def test_the_guide_runs_as_written(tmp_path):
    ran = []
    for kind, name, text in guide():
        if name:
            (tmp_path / name).write_text(text, encoding="utf-8")
            continue
        if kind != "console":
            continue
        for line in text.splitlines():
            if not line.startswith("$ "):
                continue
            command, _hash, comment = line[2:].partition("#")
            expected = int(m.group(1)) if (m := re.match(r"\s*exit (\d+)", comment)) else 0
            args = shlex.split(command)
            assert args[0] == "xlkit"
            result = subprocess.run([sys.executable, "-m", "xlkit", *args[1:]], cwd=tmp_path, capture_output=True, text=True,
                                    timeout=300, env={"TQDM_DISABLE": "1", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
            assert result.returncode == expected, (command, result.stdout[-2000:], result.stderr[-2000:])
            assert "Traceback" not in result.stderr
            ran.append((next(a for a in args[1:] if not a.startswith("-") and a != "."), result.stdout))
    assert [command for command, _out in ran] == ["spec", "build", "fields", "distribute", "fill", "check", "consolidate"]
    outputs = dict(ran)
    assert "通过" in outputs["spec"]
    assert "check-behind" in outputs["check"] or "执行率不低于时间进度" in outputs["check"]
    # what the guide says the summary holds
    book = load_workbook(tmp_path / "汇总.xlsx", read_only=True)
    assert "执行监控" in book.sheetnames and "报送情况" in book.sheetnames
    cells = [str(v) for row in book["报送情况"].iter_rows(values_only=True) for v in row if v is not None]
    assert any("P002" in c for c in cells)
    header = (tmp_path / "汇总.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert "funds.total.rate" in header and "indicators.i2.reason" in header
