"""``cchc-bot db copy --to URL``: copy every row of one database into another, empty one.

The way to move a SQLite deployment to PostgreSQL (or back, or to a fresh file): both
databases are brought to the newest schema, then every table is copied in dependency order
(parents before children, and parent units before their child units) with the same primary
keys, in one transaction on the target, so a failed copy leaves the target as empty as it was.
On PostgreSQL the id sequences are then moved past the copied ids (``setval``), so the next
row the bot inserts does not collide with a copied one. Apart from being upgraded, the source
is only read; stop the bot first, so nothing is written to it during the copy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Column, Integer, Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.migrate import upgrade
from db.models import Base
from db.session import make_engine

CHUNK = 1000  # rows read and written at a time


class CopyError(Exception):
    """The copy cannot be made (the target is not empty); nothing was written."""


@dataclass(frozen=True)
class Copied:
    table: str
    rows: int


def tables() -> list[Table]:
    """Every table of the schema, each after the tables it refers to."""
    return list(Base.metadata.sorted_tables)


def _self_reference(table: Table) -> tuple[str, str] | None:
    """(referring column, referred column) of a foreign key from ``table`` to itself."""
    for fk in table.foreign_keys:
        if fk.column.table is table:
            return fk.parent.name, fk.column.name
    return None


def parents_first(rows: Sequence[dict[str, Any]], refers: str, key: str) -> list[dict[str, Any]]:
    """Order the rows of a self-referencing table (``refers`` holds another row's ``key``)
    so that a referred row comes before the rows that refer to it; a row that refers to
    nothing in the table keeps its place."""
    by_key = {row[key]: row for row in rows}
    placed: set[Any] = set()
    out: list[dict[str, Any]] = []

    def place(row: dict[str, Any], path: set[Any]) -> None:
        own = row[key]
        if own in placed or own in path:
            return
        up = row[refers]
        if up is not None and up in by_key:
            place(by_key[up], path | {own})
        placed.add(own)
        out.append(row)

    for row in rows:
        place(row, set())
    return out


def _integer_id(table: Table) -> Column[Any] | None:
    """The single integer primary key column whose values come from a sequence."""
    primary = list(table.primary_key.columns)
    if len(primary) == 1 and isinstance(primary[0].type, Integer):
        return primary[0]
    return None


async def _count(connection: AsyncConnection, table: Table) -> int:
    return int(await connection.scalar(select(func.count()).select_from(table)) or 0)


def _json_columns(table: Table) -> list[Column[Any]]:
    return [c for c in table.columns if isinstance(c.type, JSON)]


async def _read(connection: AsyncConnection, table: Table) -> AsyncIterator[list[dict[str, Any]]]:
    """The rows of ``table`` in primary-key order, CHUNK at a time.

    A JSON column reads None both for SQL NULL and for a JSON ``null``; the marker
    ``_sql_null_<column>`` says which, so the copy writes back the same one."""
    json_columns = _json_columns(table)
    markers = [c.is_(None).label(_NULL_MARK + c.name) for c in json_columns]
    query = select(table, *markers).order_by(*table.primary_key.columns)
    result = await connection.stream(query)
    async for part in result.mappings().partitions(CHUNK):
        yield [dict(row) for row in part]


_NULL_MARK = "_sql_null_"


async def _write(connection: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows, leaving out (so: SQL NULL) the JSON values that were SQL NULL."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        omit = tuple(
            key[len(_NULL_MARK) :]
            for key, flag in row.items()
            if key.startswith(_NULL_MARK) and flag
        )
        values = {k: v for k, v in row.items() if not k.startswith(_NULL_MARK) and k not in omit}
        groups.setdefault(omit, []).append(values)
    for group in groups.values():
        await connection.execute(insert(table), group)


async def _fix_sequence(connection: AsyncConnection, table: Table) -> None:
    """Move the id sequence of a PostgreSQL table past the highest copied id."""
    column = _integer_id(table)
    if column is None:
        return
    await connection.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'),"
            f" COALESCE(MAX({column.name}), 1), MAX({column.name}) IS NOT NULL) FROM {table.name}"
        )
    )


async def _copy_table(reader: AsyncConnection, writer: AsyncConnection, table: Table) -> int:
    read = 0
    link = _self_reference(table)
    if link is None:
        async for rows in _read(reader, table):
            await _write(writer, table, rows)
            read += len(rows)
        return read
    # A table that refers to itself (units and their parent unit) is small: sort it whole.
    everything = [row async for rows in _read(reader, table) for row in rows]
    ordered = parents_first(everything, *link)
    for start in range(0, len(ordered), CHUNK):
        await _write(writer, table, ordered[start : start + CHUNK])
    return len(ordered)


async def copy_rows(
    source: AsyncEngine,
    target: AsyncEngine,
    progress: Callable[[Copied], None] = lambda _: None,
) -> list[Copied]:
    """Copy every table of ``source`` into the empty ``target`` (both at the newest schema)."""
    copied: list[Copied] = []
    async with source.connect() as reader, target.begin() as writer:
        busy = [t.name for t in tables() if await _count(writer, t)]
        if busy:
            raise CopyError(
                "cơ sở dữ liệu đích không trống (bảng có dữ liệu: " + ", ".join(busy) + ")"
            )
        for table in tables():
            read = await _copy_table(reader, writer, table)
            if writer.dialect.name == "postgresql":
                await _fix_sequence(writer, table)
            written = await _count(writer, table)
            if written != read:
                raise CopyError(f"bảng {table.name}: đọc {read} dòng nhưng ghi {written}")
            step = Copied(table.name, written)
            copied.append(step)
            progress(step)
    return copied


async def copy_database(
    source_url: str, target_url: str, progress: Callable[[Copied], None] = lambda _: None
) -> list[Copied]:
    """Bring both databases to the newest schema, then copy (see the module docstring)."""
    if _same(source_url, target_url):
        raise CopyError("nguồn và đích là cùng một cơ sở dữ liệu")
    source = make_engine(source_url)
    target = make_engine(target_url)
    try:
        await upgrade(source)
        await upgrade(target)
        return await copy_rows(source, target, progress)
    finally:
        await source.dispose()
        await target.dispose()


def _same(a: str, b: str) -> bool:
    from sqlalchemy.engine import make_url

    left, right = make_url(a), make_url(b)
    return (left.get_backend_name(), left.host, left.port, left.database) == (
        right.get_backend_name(),
        right.host,
        right.port,
        right.database,
    )
