"""The handle a flow run carries for each complaint it works on."""

from __future__ import annotations

from typing import NamedTuple


class Ref(NamedTuple):
    """A complaint as flows and tasks pass it around: the id to load it, and what names
    and tags its runs (reference, estate code, category or "" before assessment)."""

    id: int
    reference: str
    estate: str
    category: str
