"""Opaque cursors: clients pass back what they were given and never build one."""

from __future__ import annotations

import base64
import json
from typing import Annotated

from fastapi import Query

from service.errors import BadRequest

# The query parameters of every cursor-paged list.
Limit = Annotated[int, Query(ge=1, le=100, description="Page size, 1–100.", examples=[20])]
Cursor = Annotated[
    str | None, Query(max_length=200, description="`next_cursor` of the previous page.", examples=["MTIzNDU"])
]


class InvalidCursor(BadRequest):
    code, title_en, title_zh = "INVALID_CURSOR", "The cursor is invalid", "分页游标无效"


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"p": position}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded))["p"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidCursor from exc
    if not isinstance(position, int) or position < 0:
        raise InvalidCursor
    return position
