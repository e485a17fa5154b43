"""Answers kept for retried requests: a POST sent again with the same ``Idempotency-Key`` (or
a web form sent again with the same one-time token) gets the first answer, and the work is
not done twice. Each answer is written in the transaction that did the work; answers older
than :data:`KEEP` are dropped whenever a new one is written."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from models import IdempotentRequest

#: How long an answer is kept: a retry later than this is a new request.
KEEP = timedelta(days=1)


@dataclass(frozen=True)
class Kept:
    """The first answer to a request: its status code and body."""

    status_code: int
    body: str


class KeyReused(Exception):
    """The key was sent before with another request."""


def request_hash(payload: Any) -> str:
    """A digest of the request's content (JSON-able), the same for the same content in any order."""
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def recall(session: Session, key: str) -> Kept | None:
    """The answer kept under ``key``, if any."""
    row = session.get(IdempotentRequest, key)
    return Kept(row.status_code, row.body) if row is not None else None


def replay(session: Session, key: str, digest: str) -> Kept | None:
    """The answer kept under ``key`` for the same request; :class:`KeyReused` for another request."""
    row = session.get(IdempotentRequest, key)
    if row is None:
        return None
    if row.request_hash != digest:
        raise KeyReused(key)
    return Kept(row.status_code, row.body)


def keep(session: Session, key: str, digest: str, answer: Kept, now: datetime) -> None:
    """Keep ``answer`` under ``key`` in this transaction (a concurrent first use of the same key
    fails at the flush with an IntegrityError) and drop the answers older than :data:`KEEP`."""
    session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < now - KEEP))
    session.add(
        IdempotentRequest(
            key=key, request_hash=digest, status_code=answer.status_code, body=answer.body, created_at=now
        )
    )
    session.flush()
