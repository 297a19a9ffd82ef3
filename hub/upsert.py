"""SQL written one way for SQLite and PostgreSQL: `upsert` (insert or update), `insert_new`
(insert unless present, and say whether it was), `dialect_insert` for an ON CONFLICT
clause of one's own, and `among` (a column's value is one of many)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Connection, Table, any_, bindparam


def dialect_insert(conn: Connection, table: Table):  # type: ignore[no-untyped-def]
    """`INSERT` with `on_conflict_do_update` / `on_conflict_do_nothing`."""
    name = conn.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
    else:
        raise NotImplementedError(f"ON CONFLICT on {name}")
    return insert(table)


def among(conn: Connection, column: ColumnElement, values: Collection[Any]
          ) -> ColumnElement[bool]:
    """`column IN (values)`. On PostgreSQL one array parameter, `column = ANY(:values)`:
    an IN list of a batch's 20 000 node ids is 20 000 parameters, which SQLAlchemy renders
    into the statement and psycopg parses again for every batch, uncached."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


def upsert(conn: Connection, table: Table, rows: list[dict], keys: Sequence[str],
           added: Sequence[str] = ()) -> None:
    """Insert `rows`, or update the row with the same `keys`: columns in `added` are
    added to what the row holds (counters as increments), the others replaced."""
    if not rows:
        return
    stmt = dialect_insert(conn, table)
    columns = [c for c in rows[0] if c not in keys]
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={c: table.c[c] + stmt.excluded[c] if c in added else stmt.excluded[c]
              for c in columns})
    conn.execute(stmt, rows)


def insert_new(conn: Connection, table: Table, values: Mapping[str, Any],
               keys: Sequence[str]) -> bool:
    """Insert the row unless one with the same `keys` (a unique constraint) exists; True if
    it was inserted. Told by RETURNING, not by the cursor's rowcount, which psycopg gives
    as -1 for an INSERT that SQLAlchemy adds RETURNING to."""
    key = next(iter(table.primary_key.columns))
    stmt = (dialect_insert(conn, table).values(**values)
            .on_conflict_do_nothing(index_elements=list(keys)).returning(key))
    return conn.execute(stmt).first() is not None
