"""Request bodies are limited while they arrive, before anything holds them in memory.

A declared ``Content-Length`` over the limit is answered 413 at once, before a byte is read;
a chunked body is counted as it comes and answered 413 once it passes the limit, while the
application sees the client gone. The server drops the rest of the body and the connection
stays open for the next request. ``/api/`` answers JSON, the web app's paths a short page.

The limit depends on the request:

- an API attachment (``POST /api/complaints/REF/attachments``): ``ESTATECARE_ATTACHMENTS_MAX_MB``;
- the complaint form with its photos (``multipart/form-data`` to ``/complaints/new``):
  ``ESTATECARE_UPLOAD_MAX_BYTES`` times ``ESTATECARE_UPLOAD_MAX_FILES``, plus
  ``ESTATECARE_BODY_MAX_BYTES`` for the fields;
- a revisit record, which carries the resident's signature image: ``SIGNATURE_ALLOWANCE``
  plus ``ESTATECARE_BODY_MAX_BYTES``;
- anything else: ``ESTATECARE_BODY_MAX_BYTES`` (256 KiB).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from estatecare.attachments import MB
from estatecare.settings import Settings

#: A signature image (``signature_png_base64``, at most 2,000,000 characters), form-encoded.
SIGNATURE_ALLOWANCE = 3_000_000
#: The public complaint form, the one page that uploads photos.
COMPLAINT_FORM = "/complaints/new"
_ATTACHMENT = re.compile(r"/api/complaints/[^/]+/attachments")
_SIGNED = re.compile(
    r"/api/complaints/[^/]+/revisits|/api/revisits/[0-9]+|/staff/complaints/[^/]+/revisit|/staff/revisits/[0-9]+"
)


@dataclass(frozen=True)
class BodyLimits:
    """The largest body accepted, by kind of request (bytes)."""

    default: int
    attachment: int
    form_with_photos: int
    signed: int

    @classmethod
    def from_settings(cls, settings: Settings) -> BodyLimits:
        """The limits ``ESTATECARE_*`` configure."""
        body = settings.body_max_bytes
        return cls(
            default=body,
            attachment=int(settings.attachments_max_mb * MB),
            form_with_photos=settings.upload_max_bytes * settings.upload_max_files + body,
            signed=SIGNATURE_ALLOWANCE + body,
        )

    def of(self, method: str, path: str, content_type: str) -> int:
        """The limit of one request."""
        if method == "POST" and _ATTACHMENT.fullmatch(path):
            return self.attachment
        if path == COMPLAINT_FORM and content_type.lower().startswith("multipart/form-data"):
            return self.form_with_photos
        if method == "POST" and _SIGNED.fullmatch(path):
            return self.signed
        return self.default


def _refusal(path: str, limit: int) -> Response:
    message = f"the request body is larger than the {limit} bytes accepted here"
    if path.startswith("/api/"):
        return JSONResponse({"detail": message}, status_code=413)
    page = f"<!doctype html><title>413 Request refused</title><h1>Request refused</h1><p>{message}.</p>"
    return HTMLResponse(page, status_code=413, headers={"Cache-Control": "no-store"})


class BodyLimitMiddleware:
    """ASGI middleware that counts request bodies against :class:`BodyLimits`."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        path: str = scope["path"]
        limit = self.limits.of(scope["method"], path, headers.get(b"content-type", b"").decode("latin-1"))
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _refusal(path, limit)(scope, receive, send)  # not a byte of the body is read
            return
        received = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer 413 here; to the application the client has gone (it may not answer 413
                    # itself: the web app's middleware would turn an exception into a 500).
                    refused = True
                    if not started:
                        await _refusal(path, limit)(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is the answer
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, sending)
        except Exception:
            if not refused:
                raise  # else: the application failed on the body it did not get; the 413 is sent
