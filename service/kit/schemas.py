"""Base schemas: read models built from ORM rows, input models that take JSON as the document types it
(no `0` for false, no `"5"` for 5, no number for a date) and refuse unknown fields and text
PostgreSQL cannot store; the query parameter types that read dates and times the same way."""

import re
import types
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Strict, field_validator
from pydantic.fields import FieldInfo

# Ids are PostgreSQL bigints, but none goes past 2**53 - 1, the largest integer a JavaScript number (the
# mini-program's, a browser's) holds exactly: a larger one is refused as invalid input, and the document
# says so in a bound every JSON reader takes as written.
ID_MAX = 2**53 - 1


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _has_nul(value: Any) -> bool:
    """Text with U+0000, which PostgreSQL cannot store. Nested models check their own fields; raw dicts
    (a partner batch's records) are left to the model each is read with, so one bad record fails alone."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(isinstance(item, str) and "\x00" in item for item in value)
    return False


# FastAPI validates a decoded JSON body (and query text) in Pydantic's lax mode, which would read `0` as
# false, `"5"` as 5, and a number or digits as a Unix time. Input takes the documented types.
def _written_as(pattern: str, kind: type, what: str) -> BeforeValidator:
    """Text matching `pattern`; an object of `kind` comes from our own code, never from JSON, and is taken."""
    text = re.compile(pattern)

    def check(value: Any) -> Any:
        if value is None or isinstance(value, kind) or (isinstance(value, str) and text.match(value)):
            return value
        raise ValueError(what)

    return BeforeValidator(check)


def _json_integer(value: Any) -> Any:
    """JSON's integers: 5 and 5.0 (the same number to JSON Schema), never "5" or true."""
    if isinstance(value, str | bool):
        raise ValueError("an integer, as a JSON number")
    return value


def json_number(value: Any) -> Any:
    """A field documented as a JSON number takes one, not its text (Decimal would read either); a Decimal
    comes from our own code."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("a JSON number")
    return value


_DATE = _written_as(r"\d{4}-\d{2}-\d{2}\Z", date, "a date is written YYYY-MM-DD")
_DATETIME = _written_as(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}",
    datetime,
    "a date and time is written as RFC 3339 text, e.g. 2026-11-23T08:05:00+08:00",
)
# Query parameters: a date, and a time with its UTC offset.
IsoDate = Annotated[date, _DATE]
IsoDateTime = Annotated[AwareDatetime, _DATETIME]
# What each field type of an input model takes, by its annotation (InputSchema applies them).
_AS_DOCUMENTED: dict[Any, Any] = {
    bool: Strict(),
    int: BeforeValidator(_json_integer),
    date: _DATE,
    datetime: _DATETIME,
    AwareDatetime: _DATETIME,
}
# Text fields without a limit of their own: the limit every input has, and the document says so.
STR_MAX_LENGTH = 10_000


def _plain_type(annotation: Any) -> Any:
    """`X` of `X`, `X | None` and `Optional[X]`; None for anything else."""
    if isinstance(annotation, types.UnionType) or get_origin(annotation) is Union:
        members = [member for member in get_args(annotation) if member is not type(None)]
        return members[0] if len(members) == 1 else None
    return annotation


def _as_documented(field: FieldInfo) -> bool:
    """Make `field` take only its documented JSON type; whether it changed."""
    check = _AS_DOCUMENTED.get(_plain_type(field.annotation))
    if check is None or any(item is check for item in field.metadata):
        return False
    field.metadata.append(check)
    return True


def _document_text_limit(schema: dict[str, Any]) -> None:
    for prop in schema.get("properties", {}).values():
        for variant in prop.get("anyOf", [prop]):
            if variant.get("type") == "string" and not {"maxLength", "format", "pattern"} & variant.keys():
                variant["maxLength"] = STR_MAX_LENGTH


class InputSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=STR_MAX_LENGTH, json_schema_extra=_document_text_limit)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        changed = [_as_documented(field) for field in cls.model_fields.values()]
        if any(changed):
            cls.model_rebuild(force=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError("text may not contain the NUL character (U+0000)")
        return value


def refuse_null(*fields: str) -> Any:
    """A validator for a PATCH body whose `fields` may be left out (unchanged) but never sent as null:
    each null is answered as that field's error. Use as `_not_null = refuse_null("a", "b")`."""

    def check(value: Any) -> Any:
        if value is None:
            raise ValueError("may be left out but not null")
        return value

    return field_validator(*fields, mode="before")(check)
