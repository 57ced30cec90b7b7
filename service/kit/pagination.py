"""Opaque cursors: clients pass back what they were given and never build one."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeGuard

from fastapi import Query

from service.errors import BadRequest
from service.kit.schemas import ID_MAX

# The query parameters of every cursor-paged list.
Limit = Annotated[int, Query(ge=1, le=100, description="Page size, 1–100.", examples=[20])]


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


class InvalidCursor(BadRequest):
    code, title_en, title_zh = "INVALID_CURSOR", "The cursor is invalid", "分页游标无效"


def encode_cursor(position: int) -> str:
    return _encode(position)


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    position = _decode(cursor)
    if not _is_position(position):
        raise InvalidCursor
    return position


def encode_time_cursor(at: datetime, position: int) -> str:
    """A cursor for a list ordered by a time, then by id: both, the time to the microsecond."""
    return _encode([(at - EPOCH) // MICROSECOND, position])


def decode_time_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    if cursor is None:
        return None
    value = _decode(cursor)
    if not (isinstance(value, list) and len(value) == 2 and all(_is_position(part) for part in value)):
        raise InvalidCursor
    try:
        at = EPOCH + value[0] * MICROSECOND
    except OverflowError as exc:
        raise InvalidCursor from exc
    return at, value[1]


def _encode(position: int | list[int]) -> str:
    return base64.urlsafe_b64encode(json.dumps({"p": position}).encode()).decode().rstrip("=")


def _decode(cursor: str) -> Any:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded))["p"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidCursor from exc


def _cursor_parameter(example: str) -> Any:
    return Query(max_length=200, description="`next_cursor` of the previous page.", examples=[example])


# The cursor parameter of lists paged by id, and of lists paged by a time then an id; each example is a
# cursor such a list gives.
Cursor = Annotated[str | None, _cursor_parameter(encode_cursor(5120))]
TimeCursor = Annotated[
    str | None, _cursor_parameter(encode_time_cursor(datetime(2026, 11, 23, 0, 5, tzinfo=UTC), 48213))
]


def _is_position(value: Any) -> TypeGuard[int]:
    """An id, or a time in microseconds: both within ID_MAX, so a larger one is no position of ours."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= ID_MAX
