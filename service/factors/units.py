from enum import StrEnum


class Unit(StrEnum):
    km = "km"
    steps = "steps"
    kg = "kg"
    visit = "visit"
