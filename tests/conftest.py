from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("TQDM_DISABLE", "1")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="Rewrite golden files instead of comparing.")


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def spec():
    from xlkit.form.load import load_spec

    return load_spec()


@pytest.fixture(scope="session")
def seed_data() -> dict:
    return json.loads((SAMPLES / "seed_2019.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def seed_template(tmp_path_factory: pytest.TempPathFactory, spec, seed_data) -> Path:
    from xlkit.write.build import build_template

    path = tmp_path_factory.mktemp("seed") / "template.xlsx"
    build_template(path, spec, unit_code="430600301", unit_name=seed_data["unit.name"], year=seed_data["year"])
    return path


@pytest.fixture(scope="session")
def seed_filled(tmp_path_factory: pytest.TempPathFactory, spec, seed_template: Path, seed_data) -> Path:
    from xlkit.write.fill import fill_workbook

    path = tmp_path_factory.mktemp("seed") / "filled.xlsx"
    fill_workbook(seed_template, seed_data, path, spec)
    return path
