"""Column types shared by the models."""

import enum

import sqlalchemy as sa


def str_enum(enum_class: type[enum.Enum], length: int = 20) -> sa.Enum:
    """A Python enum stored as its value in a VARCHAR (no native DB enum to migrate)."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        length=length,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )
