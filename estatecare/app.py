"""The application core: settings, policy, database and deadlines wired together."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from estatecare.db import make_engine, make_session_factory, transaction
from estatecare.dbthread import BACKGROUND, REQUEST, DatabaseThread
from estatecare.settings import Settings, get_settings
from models.deadlines import Deadlines
from models.policy import Policy

T = TypeVar("T")


@dataclass
class App:
    """Everything a service function needs; one per process."""

    settings: Settings
    policy: Policy
    engine: Engine
    sessions: sessionmaker[Session] = field(init=False)
    deadlines: Deadlines = field(init=False)
    db_thread: DatabaseThread | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.sessions = make_session_factory(self.engine)
        self.deadlines = Deadlines(self.policy)
        if self.engine.dialect.name == "sqlite":
            # SQLite has one writer: one thread runs the transactions in turn (see dbthread)
            self.db_thread = DatabaseThread()

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> App:
        """Build from the environment; the policy is validated here (fails fast)."""
        settings = settings or get_settings()
        settings.make_var_dir()
        return cls(settings=settings, policy=settings.policy, engine=make_engine(settings.db_url))

    async def run(self, work: Callable[[Session], T], *, background: bool = False) -> T:
        """Run ``work`` in one transaction off the event loop: on the database thread for
        SQLite (``background`` work, i.e. lifecycle steps, after people's requests), on the
        default thread pool otherwise. A stale write raises ConflictError."""
        from estatecare.services.records import in_transaction

        call = partial(in_transaction, self.sessions, work)
        if self.db_thread is None:
            return await asyncio.to_thread(call)
        return await asyncio.wrap_future(self.db_thread.submit(call, BACKGROUND if background else REQUEST))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One database transaction."""
        with transaction(self.sessions) as session:
            yield session
