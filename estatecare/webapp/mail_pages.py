"""Demo: ``/mail`` shows signed-in staff the local mail catcher's messages."""

from __future__ import annotations

import asyncio
import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape

from estatecare.services.errors import NotFound
from estatecare.webapp import mailbox
from estatecare.webapp.context import WebContext

_URL = re.compile(r"https?://[^\s<>\"']+")


def linkify(text: str) -> Markup:
    """Escape ``text`` and turn its URLs into links."""
    out: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        out.append(str(escape(text[last : match.start()])))
        url = escape(match.group(0))
        out.append(f'<a href="{url}">{url}</a>')
        last = match.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))  # noqa: S704 - every piece is escaped above


def router(ctx: WebContext) -> APIRouter:
    """The caught-mail pages (404 without a mail catcher)."""
    web = APIRouter()
    catcher = ctx.catcher

    @web.get("/mail", response_class=HTMLResponse)
    async def mail_list(request: Request) -> Response:
        if catcher is None:
            raise NotFound("no mail catcher")
        await ctx.require_staff(request)  # the messages carry contact data and signed action links
        items = await asyncio.to_thread(mailbox.messages, catcher.directory)
        return ctx.render(request, "mail_list.html", items=items)

    @web.get("/mail/{mail_id}", response_class=HTMLResponse)
    async def mail_show(request: Request, mail_id: str) -> Response:
        if catcher is None:
            raise NotFound("no mail catcher")
        await ctx.require_staff(request)
        item = await asyncio.to_thread(mailbox.message, catcher.directory, mail_id)
        if item is None:
            raise NotFound("no such message")
        return ctx.render(request, "mail_message.html", m=item, body=linkify(item.text))

    return web
