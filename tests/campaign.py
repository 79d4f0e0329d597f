"""Helpers shared by the campaign tests (a module of its own: `conftest` is ambiguous with tests/interop)."""

from __future__ import annotations

import shutil
from pathlib import Path

SEED_CODE = "430600301"  # the seed unit in samples/roster.csv
# the seed's project: a project form names the project as its unit, and the unit carrying it out as implementer
PROJECT_IDENTITY = {"unit_code": "430600301-01", "unit_name": "数字城管信息采集服务项目", "year": 2019,
                    "parent_name": "岳阳市城市管理和综合执法局", "implementer": "岳阳市智慧城管指挥中心", "issuer": "岳阳市财政局"}


def fresh_copy(returned: Path, tmp_path: Path) -> Path:
    """A copy of the returned folder a test may break."""
    target = tmp_path / "in"
    shutil.copytree(returned, target)
    return target
