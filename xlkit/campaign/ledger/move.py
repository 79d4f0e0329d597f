"""Moving a ledger from one backend to another (`xlkit campaign migrate`): every row of every table, ids kept, in
one transaction on each side, then compared row for row. The policy (verify before switching, what a failure
leaves) is `campaign.migrate`'s."""

from __future__ import annotations

from collections.abc import Callable

from . import Ledger
from .schema import SQLITE_STEPS, statements


def tables_in_order() -> list[str]:
    """The ledger's tables in the order the schema creates them (a table after those it refers to)."""
    made = [s for step in sorted(SQLITE_STEPS) for s in statements(SQLITE_STEPS[step]) if s.startswith("CREATE TABLE")]
    return [s.split()[5].split("(")[0] for s in made]


def copy_rows(source: Ledger, target: Ledger, progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Every row of `source` (at the current schema version) into the freshly made `target`, inside the caller's transaction
    on each; returns rows per table. The target's identities continue after the highest id copied."""
    present, counts = source._db.tables(), {}
    target_db = target._db
    for table in tables_in_order():
        if table not in present:
            continue
        columns = ", ".join(f'"{c}"' for c in target_db.columns(table))  # type: ignore[attr-defined]
        rows = source._db.rows(f'SELECT {columns} FROM "{table}"')
        target_db.run(f'DELETE FROM "{table}"')  # what the schema's own steps put there (e.g. an account from meta)
        target_db.run_many(f'INSERT INTO "{table}"({columns}) VALUES ({", ".join("?" * len(target_db.columns(table)))})', rows)  # type: ignore[attr-defined]
        counts[table] = len(rows)
        if progress:
            progress(table, len(rows))
    target_db.identities()  # type: ignore[attr-defined]
    return counts


def differences(source: Ledger, target: Ledger) -> list[str]:
    """Tables whose rows differ between the two ledgers (compared whole), in Chinese."""
    found = []
    present = source._db.tables()
    for table in tables_in_order():
        if table not in present:
            continue
        columns = target._db.columns(table)  # type: ignore[attr-defined]
        listed = ", ".join(f'"{c}"' for c in columns)
        left = sorted((_plain(r) for r in source._db.rows(f'SELECT {listed} FROM "{table}"')), key=repr)  # no collation's order
        right = sorted((_plain(r) for r in target._db.rows(f'SELECT {listed} FROM "{table}"')), key=repr)
        if left != right:
            found.append(f"数据表 {table}：原台账 {len(left)} 行，新台账 {len(right)} 行，内容不一致")
    return found


def _plain(row: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(bytes(v) if isinstance(v, (bytes, bytearray, memoryview)) else v for v in row)
