"""URL converters for ids: a value the column cannot hold does not match the route (a 404),
instead of reaching the database and failing there."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

from plugin.db import MAX_BIGINT, MAX_INT


class IdConverter(IntegerConverter):
    """``<id:shop_id>``: a positive 64-bit id; ``<id(max=...):version>`` for a narrower column."""

    def __init__(self, url_map, max: int = MAX_BIGINT):  # noqa: A002 - werkzeug's argument name
        super().__init__(url_map, min=1, max=max)


CONVERTERS = {"id": IdConverter}
__all__ = ["CONVERTERS", "IdConverter", "MAX_INT"]
