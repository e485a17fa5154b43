"""The application core: settings, policy, database and deadlines wired together."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from estatecare.db import make_engine, make_session_factory, transaction
from estatecare.settings import Settings, get_settings
from models.deadlines import Deadlines
from models.policy import Policy


@dataclass
class App:
    """Everything a service function needs; one per process."""

    settings: Settings
    policy: Policy
    engine: Engine
    sessions: sessionmaker[Session] = field(init=False)
    deadlines: Deadlines = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = make_session_factory(self.engine)
        self.deadlines = Deadlines(self.policy)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> App:
        """Build from the environment; the policy is validated here (fails fast)."""
        settings = settings or get_settings()
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        return cls(settings=settings, policy=settings.policy, engine=make_engine(settings.db_url))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One database transaction."""
        with transaction(self.sessions) as session:
            yield session
