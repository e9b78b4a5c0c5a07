"""Hot-path lookups without the ORM's query compiler.

Building SQL from a queryset costs 0.2-0.4 ms per query on this stack; a cached API
answer or map.json response asks five such questions (session, user, token, latest run,
jurisdiction), so compilation was most of its time. These helpers run fixed SQL through
``Model.objects.raw`` (which still converts values per backend) or a plain cursor.
They are for short, fixed lookups only: anything with a filter that varies in shape
belongs in the ORM.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


@cache
def _select(model: type[models.Model], where: str, order_by: str) -> str:
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"SELECT * FROM {table} WHERE {where}"  # noqa: S608 - fixed text, values are parameters
    if order_by:
        sql += f" ORDER BY {order_by}"
    return sql + " LIMIT 1"


def first(model: type[M], where: str, params: list[Any], order_by: str = "") -> M | None:
    """The first ``model`` row matching ``where`` (SQL over the table's own column names,
    ``%s`` for each value in ``params``), or None."""
    return next(iter(model.objects.raw(_select(model, where, order_by), params)), None)


def column(sql: str, params: list[Any]) -> list[Any]:
    """The first column of every row ``sql`` returns."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def row(sql: str, params: list[Any]) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def when(value: Any) -> Any:
    """A datetime as this database compares it (what the ORM would send)."""
    return connection.ops.adapt_datetimefield_value(value)
