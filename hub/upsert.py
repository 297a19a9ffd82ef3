"""SQL written one way for SQLite and PostgreSQL: `upsert` (insert or update),
`insert_absent` (insert the rows not there yet), `insert_new` (insert one unless present,
and say whether it was), `dialect_insert` for an ON CONFLICT clause of one's own, and
`among` (a column's value is one of many)."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Table,
    any_,
    bindparam,
    column,
    select,
    table,
)

# From this many rows on PostgreSQL, `upsert` and `insert_absent` COPY the rows into a
# staging table and merge them with one statement. Per row, an executemany costs the hub
# ~12 µs of CPU in SQLAlchemy and psycopg and PostgreSQL one statement's execution; COPY
# costs ~1 µs and one row of a set (bench/README.md, "Bulk writes"). Below it, the
# staging table's round trips cost more than they save.
COPY_FROM_ROWS = 32


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
    stmt, staged = _insert(conn, table, rows, keys)
    columns = [c for c in rows[0] if c not in keys]
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={c: table.c[c] + stmt.excluded[c] if c in added else stmt.excluded[c]
              for c in columns})
    conn.execute(stmt) if staged else conn.execute(stmt, rows)


def insert_absent(conn: Connection, table: Table, rows: list[dict], keys: Sequence[str]
                  ) -> None:
    """Insert those of `rows` whose `keys` (a unique constraint) no row has yet."""
    if not rows:
        return
    stmt, staged = _insert(conn, table, rows, keys)
    stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    conn.execute(stmt) if staged else conn.execute(stmt, rows)


def _insert(conn: Connection, target: Table, rows: list[dict], keys: Sequence[str]
            ) -> tuple[Any, bool]:
    """The INSERT for `rows`, and whether they were staged: then it takes them from the
    staging table (`_stage`) and needs no parameters."""
    stmt = dialect_insert(conn, target)
    if (conn.dialect.name != "postgresql" or len(rows) < COPY_FROM_ROWS
            or len(set(map(itemgetter(*keys), rows))) < len(rows)):
        # A key twice in one INSERT … SELECT is an error ("cannot affect row a second
        # time"); one row after the other, as executemany does, the second one wins.
        return stmt, False
    columns = list(rows[0])
    stage = _stage(conn, target, columns)
    with conn.connection.cursor() as cur, cur.copy(  # type: ignore[attr-defined]
            f'COPY {stage} ({", ".join(_quote(c) for c in columns)}) FROM STDIN') as copy:
        for values in map(itemgetter(*columns), rows):
            copy.write_row(values if len(columns) > 1 else (values,))
    source = table(stage, *[column(c) for c in columns])
    return stmt.from_select(columns, select(*source.c)), True


def _stage(conn: Connection, target: Table, columns: list[str]) -> str:
    """A temporary table (this session's only) with the types of `target`'s `columns`,
    emptied at every commit. Made when missing: asked every time, because a transaction
    that made it and rolled back took it away again."""
    digest = hashlib.sha1(",".join(columns).encode()).hexdigest()[:10]
    name = f"_stage_{target.name}_{digest}"
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} ON COMMIT DELETE ROWS AS "
        f'SELECT {", ".join(_quote(c) for c in columns)} FROM {_quote(target.name)} '
        "WITH NO DATA")
    return name


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def insert_new(conn: Connection, table: Table, values: Mapping[str, Any],
               keys: Sequence[str]) -> bool:
    """Insert the row unless one with the same `keys` (a unique constraint) exists; True if
    it was inserted. Told by RETURNING, not by the cursor's rowcount, which psycopg gives
    as -1 for an INSERT that SQLAlchemy adds RETURNING to."""
    key = next(iter(table.primary_key.columns))
    stmt = (dialect_insert(conn, table).values(**values)
            .on_conflict_do_nothing(index_elements=list(keys)).returning(key))
    return conn.execute(stmt).first() is not None
