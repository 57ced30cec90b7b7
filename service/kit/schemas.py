"""Base schemas: read models built from ORM rows, input models that refuse unknown fields and text
PostgreSQL cannot store."""

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

# Ids are PostgreSQL bigints: a larger number is refused as invalid input, not sent to the database.
BIGINT_MAX = 2**63 - 1


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


class InputSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=10_000)

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
