"""What every router of the REST API shares: the core, the dispatcher, the clock and the staff token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import Header
from pydantic import BaseModel
from sqlalchemy.orm import Session

from estatecare.api.errors import Unauthorized
from estatecare.app import App
from estatecare.dispatch import Dispatcher
from estatecare.services import steps, tokens
from estatecare.services.people import Actor

T = TypeVar("T")


@dataclass(frozen=True)
class ApiContext:
    """The routers' view of the application; ``current_staff`` is the token dependency."""

    core: App
    dispatcher: Dispatcher | None
    now: Callable[[], datetime]
    current_staff: Callable[..., Awaitable[Actor]]
    optional_staff: Callable[..., Awaitable[Actor | None]]

    async def run(self, work: Callable[[Session], T]) -> T:
        """``work`` in one transaction (on SQLite, on the database thread)."""
        return await self.core.run(work)

    def follow(self, follow_ups: Iterable[steps.FollowUp]) -> None:
        """Continue in the background what a committed transaction started."""
        if self.dispatcher is not None:
            self.dispatcher.follow(follow_ups)

    async def take(self, name: str, target: steps.Target, data: BaseModel, actor: Actor) -> steps.StepDone:
        """Take step ``name`` of the step table, then dispatch what continues it."""
        done = await steps.run_step(self.core, name, target, data, actor, self.now())
        self.follow(done.follow_ups)
        return done


def api_context(core: App, dispatcher: Dispatcher | None, now: Callable[[], datetime]) -> ApiContext:
    """The context over ``core``, with its token dependencies."""

    async def current_staff(authorization: Annotated[str | None, Header()] = None) -> Actor:
        try:
            token = tokens.bearer_token(authorization)
            return await core.run(lambda s: tokens.authenticate(s, token, now()))
        except tokens.TokenRefused as exc:  # missing, unknown, expired
            raise Unauthorized(str(exc)) from exc

    async def optional_staff(authorization: Annotated[str | None, Header()] = None) -> Actor | None:
        return await current_staff(authorization) if authorization else None

    return ApiContext(core, dispatcher, now, current_staff, optional_staff)
