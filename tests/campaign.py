"""Helpers shared by the campaign tests (a module of its own: `conftest` is ambiguous with tests/interop)."""

from __future__ import annotations

import json
import secrets
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


# ------------------------------------------------------------------ both backends
# A campaign test runs on SQLite and on PostgreSQL: its `base` fixture makes the campaign with `make_campaign`
# (the `backend` fixture of conftest: "sqlite" or a private server's address), and each test works on a
# `copy_campaign` (on PostgreSQL the copy's ledger is a schema of its own, cloned from the base's).

def make_campaign(folder: Path, roster: Path, year: int, backend: str, **options):  # type: ignore[no-untyped-def]
    from xlkit.campaign.ledger import Location
    from xlkit.campaign.setup import init_campaign

    where = None if backend == "sqlite" else Location(backend, _schema(), options.pop("blobs", "folder"))
    return init_campaign(folder, roster, year, where=where, **options)


def copy_campaign(source: Path, target: Path) -> Path:
    """A copy of a folder holding campaigns (at any depth) that a test may change without touching the original."""
    shutil.copytree(source, target)
    for settings in sorted(target.rglob("ledger.json")):
        data = json.loads(settings.read_text(encoding="utf-8"))
        data["schema"] = clone_schema(data["database"], data["schema"])
        settings.write_text(json.dumps(data), encoding="utf-8")
    return target


def _schema() -> str:
    return f"t_{secrets.token_hex(6)}"


def clone_schema(database: str, schema: str) -> str:
    """A new schema with the same tables (the ledger's own DDL) and rows, identities continuing as in the original."""
    import psycopg

    from xlkit.campaign.ledger.postgres import pg_steps

    new = _schema()
    made = [s for _step, statements in pg_steps() for s in statements]
    tables = [s.split()[5].split("(")[0] for s in made if s.startswith("CREATE TABLE")]
    with psycopg.connect(database, autocommit=True) as conn, conn.transaction():
        conn.execute(f'CREATE SCHEMA "{new}"')
        conn.execute(f'SET LOCAL search_path TO "{new}"')
        for statement in made:
            if not statement.startswith("INSERT"):
                conn.execute(statement)
        present = {t for (t,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))}
        for table in tables:
            if table in present:
                conn.execute(f'INSERT INTO "{new}"."{table}" SELECT * FROM "{schema}"."{table}"')
                if conn.execute("SELECT 1 FROM information_schema.columns WHERE table_schema = %s AND table_name = %s AND column_name = 'id'",
                                (new, table)).fetchone():
                    conn.execute(f"SELECT setval(pg_get_serial_sequence('\"{new}\".\"{table}\"', 'id'), "
                                 f'COALESCE((SELECT MAX(id) FROM "{new}"."{table}"), 0) + 1, false)')
    return new


def ledger_rows(folder: Path, query: str, params: tuple = ()) -> list[tuple]:
    """A query on a campaign's ledger, whichever backend holds it (for tests that look under the named operations)."""
    settings = folder / "ledger.json"
    if not settings.exists():
        import sqlite3

        with sqlite3.connect(folder / "ledger.sqlite") as db:
            return db.execute(query, params).fetchall()
    import psycopg

    data = json.loads(settings.read_text(encoding="utf-8"))
    with psycopg.connect(data["database"], autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{data["schema"]}"')
        cursor = conn.execute(query.replace("?", "%s"), params)
        return cursor.fetchall() if cursor.description else []


def filled_returns(root: Path, roster: str, codes: tuple[str, ...], spec) -> Path:  # type: ignore[no-untyped-def]
    """`root` with the roster and each unit's filled workbook (`<code>.xlsx`), made in a throwaway SQLite campaign."""
    from xlkit.campaign.setup import DISTRIBUTED
    from xlkit.demo.sample_data import generate_unit_data
    from xlkit.intake.identify import open_template_workbook
    from xlkit.write.fill import fill_workbook

    (root / "roster.csv").write_text(roster, encoding="utf-8")
    make_campaign(root / "c", root / "roster.csv", 2019, "sqlite")
    for code in codes:
        template = next((root / "c" / DISTRIBUTED).glob(f"{code}_*.xlsx"))
        fill_workbook(template, generate_unit_data(open_template_workbook(template, spec).layout, code), root / f"{code}.xlsx", spec)
    return root
