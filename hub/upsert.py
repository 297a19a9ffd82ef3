"""INSERT … ON CONFLICT DO UPDATE for SQLite and PostgreSQL through one call."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Table


def upsert(conn: Connection, table: Table, rows: list[dict], keys: Sequence[str]) -> None:
    if not rows:
        return
    name = conn.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
    else:
        raise NotImplementedError(f"upsert on {name}")
    stmt = insert(table)
    columns = [c for c in rows[0] if c not in keys]
    stmt = stmt.on_conflict_do_update(index_elements=list(keys),
                                      set_={c: stmt.excluded[c] for c in columns})
    conn.execute(stmt, rows)
