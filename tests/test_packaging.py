"""The package as a user installs it (a wheel, not the source tree) carries its templates and samples."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_installed_wheel_runs_the_demo_from_any_folder(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(wheels.glob("xlkit-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for part in ("xlkit/templates/perf_self_eval.yaml", "xlkit/templates/archive/perf_self_eval_2026.1.yaml", "xlkit/samples/roster.csv", "xlkit/samples/seed_2019.json",
                 "xlkit/form/load.py", "xlkit/demo/run.py"):
        assert part in names, part
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target), "TQDM_DISABLE": "1"}
    code = "import xlkit, sys; assert 'site' in xlkit.__file__, xlkit.__file__; from xlkit.cli import main; sys.exit(main())"
    result = subprocess.run([sys.executable, "-P", "-c", code, "demo", str(tmp_path / "demo")], cwd=elsewhere, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "收入合计 1126.28" in result.stdout
    assert (tmp_path / "demo" / "summary.xlsx").exists()
