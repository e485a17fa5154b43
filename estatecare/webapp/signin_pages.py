"""Staff sign-in and sign-out (argon2 passwords, a lockout per account, a session cookie)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from estatecare.webapp import accounts
from estatecare.webapp.context import WebContext, client_key
from estatecare.webapp.forms import retry_after, text
from estatecare.webapp.security import csrf_token
from models.enums import Locale


def safe_next(target: str) -> str:
    """Where to go after signing in: a staff page of this site, else the inbox."""
    return target if target.startswith(("/staff", "/mail")) and not target.startswith("//") else "/staff"


def router(ctx: WebContext) -> APIRouter:
    """The sign-in pages."""
    web = APIRouter()

    @web.get("/staff/login", response_class=HTMLResponse)
    async def login_form(request: Request) -> Response:
        next_page = safe_next(request.query_params.get("next", ""))
        return ctx.render(request, "login.html", next=next_page, error="", email="")

    @web.post("/staff/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        form = await ctx.read_form(request)
        email = text(form, "email").strip()
        password = text(form, "password")
        target = safe_next(text(form, "next"))
        limit = ctx.login_limit
        if not limit.hit("login:" + client_key(request)):
            page = ctx.render(request, "login.html", 429, next=target, error="rate", email=email)
            return retry_after(page, limit.retry_after("login:" + client_key(request)))
        at = ctx.now()
        outcome = await ctx.sign_ins.attempt(ctx.core.run, email, password, at)
        if outcome.retry_after is not None:  # the same answer whether the account exists or not
            page = ctx.render(request, "login.html", 429, next=target, error="locked", email=email)
            return retry_after(page, outcome.retry_after)
        staff = outcome.staff
        if staff is None:
            return ctx.render(request, "login.html", 401, next=target, error="bad", email=email)
        lang = request.session.get("lang")
        request.session.clear()  # a fresh session on login (the language choice stays)
        if lang:
            request.session["lang"] = lang
        request.session.update(
            {
                "staff_id": staff.id,
                "staff_version": staff.session_version,
                "staff_name": staff.name,
                "staff_locale": Locale(staff.locale).value,
            }
        )
        csrf_token(request.session)
        return RedirectResponse(target, status_code=303)

    @web.post("/staff/logout")
    async def logout(request: Request) -> Response:
        await ctx.read_form(request)
        actor = await ctx.signed_in(request)
        if actor is not None:  # ends this person's every session, a copied cookie too
            await ctx.core.run(lambda s: accounts.end_sessions(s, actor.id))
        request.session.clear()
        return RedirectResponse("/", status_code=303)

    return web
