from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from campaign import PROJECT_IDENTITY, SEED_CODE

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
def registry():
    from xlkit.form.registry import SpecRegistry

    return SpecRegistry.default()


@pytest.fixture(scope="session")
def roster():
    from xlkit.bureau.roster import load_roster

    return load_roster(SAMPLES / "roster.csv")


@pytest.fixture(scope="session")
def layout(seed_filled, spec):
    """The seed unit's own layout (its row names)."""
    from xlkit.intake.identify import open_template_workbook

    return open_template_workbook(seed_filled, spec).layout


@pytest.fixture(scope="session")
def returned(tmp_path_factory, spec, roster, seed_data, project_data) -> Path:
    """Every roster unit's workbook, filled: the seed unit with the seed (its key project's sheet with the seed
    project), the others generated."""
    from xlkit.bureau.distribute import distribute
    from xlkit.demo.sample_data import generate_unit_data, seed_unit_data
    from xlkit.intake.identify import open_template_workbook
    from xlkit.write.fill import fill_workbook

    base = tmp_path_factory.mktemp("campaign")
    results = distribute(spec, roster.units, 2019, base / "sent")
    out = base / "returned"
    out.mkdir()
    for item in results:
        layout = open_template_workbook(item.path, spec).layout
        data = seed_unit_data(layout, seed_data, project_data, PROJECT_IDENTITY["unit_code"]) if item.unit.code == SEED_CODE \
            else generate_unit_data(layout, item.unit.code)
        fill_workbook(item.path, data, out / item.path.name, spec)
    return out


@pytest.fixture(scope="session")
def seed_template(tmp_path_factory: pytest.TempPathFactory, spec, seed_data) -> Path:
    from xlkit.write.build import build_template

    path = tmp_path_factory.mktemp("seed") / "template.xlsx"
    build_template(path, spec, unit_code="430600301", unit_name=seed_data["unit.name"], year=seed_data["year"], issuer="岳阳市财政局")
    return path


@pytest.fixture(scope="session")
def seed_filled(tmp_path_factory: pytest.TempPathFactory, spec, seed_template: Path, seed_data) -> Path:
    from xlkit.write.fill import fill_workbook

    path = tmp_path_factory.mktemp("seed") / "filled.xlsx"
    fill_workbook(seed_template, seed_data, path, spec)
    return path


@pytest.fixture(scope="session")
def project_spec():
    from xlkit.form.load import load_spec

    return load_spec(ROOT / "templates" / "project_self_eval.yaml")


@pytest.fixture(scope="session")
def project_data() -> dict:
    return json.loads((SAMPLES / "seed_project_2019.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def project_template(tmp_path_factory: pytest.TempPathFactory, project_spec) -> Path:
    from xlkit.write.build import build_template

    path = tmp_path_factory.mktemp("project") / "template.xlsx"
    build_template(path, project_spec, **PROJECT_IDENTITY)
    return path


@pytest.fixture(scope="session")
def project_filled(tmp_path_factory: pytest.TempPathFactory, project_spec, project_template: Path, project_data) -> Path:
    from xlkit.write.fill import fill_workbook

    path = tmp_path_factory.mktemp("project") / "filled.xlsx"
    fill_workbook(project_template, project_data, path, project_spec)
    return path


# ------------------------------------------------------------------ the ledger's backends
BACKENDS = ("sqlite", "postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: looks at the SQLite file itself (WAL, read-only media, a damaged file); "
                                       "not collected for PostgreSQL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked sqlite_only is deselected (not skipped) for PostgreSQL: it has nothing to test there."""
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        (drop if params.get("backend") == "postgresql" and item.get_closest_marker("sqlite_only") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def pg_server():
    """One private PostgreSQL server for the session. With CI=true it must start: a missing server fails the run."""
    import pgserver

    server = pgserver.required()
    yield server
    from xlkit.campaign.ledger.postgres import _close_pools

    _close_pools()
    server.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """"sqlite", or the address of the session's PostgreSQL database: what `campaign.make_campaign` puts a ledger in."""
    if request.param == "sqlite":
        return "sqlite"
    return str(request.getfixturevalue("pg_server").url)
