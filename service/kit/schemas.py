"""Base schemas: read models built from ORM rows, input models that refuse unknown fields."""

from pydantic import BaseModel, ConfigDict


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class InputSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=10_000)
