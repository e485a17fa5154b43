"""HTML building blocks of the email templates, with inline styles that common mail clients render.

Plain functions rather than Jinja2 macros: a message uses several of them and a macro
call costs a new template context each time. Every value goes through markupsafe's
``escape`` (as ``{{ }}`` would; Markup is left as it is) before plain ``%`` formatting,
which is several times cheaper than ``Markup``'s own ``%``; the result is ``Markup``, so
the template inserts it as it is. Templates call them as ``m.facts(rows)``,
``m.quote(text)``, ``m.button(url, text)`` and ``m.heading(text)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from markupsafe import Markup, escape

_TABLE = (
    '<table role="presentation" cellpadding="0" cellspacing="0" border="0" '
    'style="width:100%%;border-collapse:collapse;margin:8px 0 16px 0;">\n%s</table>\n'
)
_ROW = (
    "<tr>\n"
    '<td style="padding:6px 8px;border:1px solid #e3e6ea;background-color:#f7f9fb;width:30%%;'
    'vertical-align:top;font-weight:bold;">%s</td>\n'
    '<td style="padding:6px 8px;border:1px solid #e3e6ea;vertical-align:top;">%s</td>\n'
    "</tr>\n"
)
_QUOTE = (
    '<div style="margin:8px 0 16px 0;padding:10px 12px;border-left:4px solid #9fb3c8;'
    'background-color:#f7f9fb;white-space:pre-wrap;">%s</div>\n'
)
_BUTTON = (
    '<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="margin:16px 0;">\n'
    '<tr><td style="background-color:#1f6fb2;border-radius:4px;">'
    '<a href="%(url)s" style="display:inline-block;padding:10px 18px;color:#ffffff;'
    'text-decoration:none;font-weight:bold;">%(text)s</a></td></tr>\n'
    "</table>\n"
    '<p style="font-size:12px;color:#666666;">%(url)s</p>\n'
)
_HEADING = '<h3 style="margin:16px 0 8px 0;font-size:15px;color:#1f4e79;">%s</h3>\n'


def facts(rows: Iterable[tuple[Any, Any]]) -> Markup:
    """A two-column table of (name, value) rows."""
    return Markup(_TABLE % "".join([_ROW % (escape(name), escape(value)) for name, value in rows]))  # noqa: S704 - values escaped


def quote(text: Any) -> Markup:
    """A resident's words, set apart and with their line breaks kept."""
    return Markup(_QUOTE % escape(text))  # noqa: S704 - values escaped


def button(url: Any, text: Any) -> Markup:
    """A link drawn as a button, with the address written out below for clients that hide it."""
    return Markup(_BUTTON % {"url": escape(url), "text": escape(text)})  # noqa: S704 - values escaped


def heading(text: Any) -> Markup:
    """A section heading."""
    return Markup(_HEADING % escape(text))  # noqa: S704 - values escaped


BLOCKS = SimpleNamespace(facts=facts, quote=quote, button=button, heading=heading)
