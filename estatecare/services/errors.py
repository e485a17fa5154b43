"""Errors the service layer raises; the API and CLI map them to answers."""

from __future__ import annotations


class NotFound(LookupError):
    """No such complaint, staff member or other record."""


class ConflictError(RuntimeError):
    """Someone else changed the record first (optimistic lock); reload and try again."""


class Forbidden(PermissionError):
    """The caller may not do this."""


class WrongState(ConflictError):
    """The record is not in a state that allows the step; ``state`` names the state it is in."""

    def __init__(self, message: str, state: str) -> None:
        self.state = state
        super().__init__(message)


class InvalidInput(ValueError):
    """Input that passed the schema but not the data (unknown estate, unit...): names the field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")
