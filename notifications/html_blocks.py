"""HTML building blocks of the email templates, with inline styles that common mail clients render.

Plain functions rather than Jinja2 macros: a message uses several of them and a macro
call costs a new template context each time. Every value is escaped by ``Markup``'s ``%``
(as ``{{ }}`` would, and far faster than ``Markup.format``); the result is ``Markup``, so
the template inserts it as it is. Templates call them as ``m.facts(rows)``,
``m.quote(text)``, ``m.button(url, text)`` and ``m.heading(text)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from markupsafe import Markup

_TABLE = Markup(
    '<table role="presentation" cellpadding="0" cellspacing="0" border="0" '
    'style="width:100%%;border-collapse:collapse;margin:8px 0 16px 0;">\n%s</table>\n'
)
_ROW = Markup(
    "<tr>\n"
    '<td style="padding:6px 8px;border:1px solid #e3e6ea;background-color:#f7f9fb;width:30%%;'
    'vertical-align:top;font-weight:bold;">%s</td>\n'
    '<td style="padding:6px 8px;border:1px solid #e3e6ea;vertical-align:top;">%s</td>\n'
    "</tr>\n"
)
_QUOTE = Markup(
    '<div style="margin:8px 0 16px 0;padding:10px 12px;border-left:4px solid #9fb3c8;'
    'background-color:#f7f9fb;white-space:pre-wrap;">%s</div>\n'
)
_BUTTON = Markup(
    '<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="margin:16px 0;">\n'
    '<tr><td style="background-color:#1f6fb2;border-radius:4px;">'
    '<a href="%(url)s" style="display:inline-block;padding:10px 18px;color:#ffffff;'
    'text-decoration:none;font-weight:bold;">%(text)s</a></td></tr>\n'
    "</table>\n"
    '<p style="font-size:12px;color:#666666;">%(url)s</p>\n'
)
_HEADING = Markup('<h3 style="margin:16px 0 8px 0;font-size:15px;color:#1f4e79;">%s</h3>\n')


def facts(rows: Iterable[tuple[Any, Any]]) -> Markup:
    """A two-column table of (name, value) rows."""
    return _TABLE % Markup("").join(_ROW % (name, value) for name, value in rows)


def quote(text: Any) -> Markup:
    """A resident's words, set apart and with their line breaks kept."""
    return _QUOTE % (text,)


def button(url: Any, text: Any) -> Markup:
    """A link drawn as a button, with the address written out below for clients that hide it."""
    return _BUTTON % {"url": url, "text": text}


def heading(text: Any) -> Markup:
    """A section heading."""
    return _HEADING % (text,)


BLOCKS = SimpleNamespace(facts=facts, quote=quote, button=button, heading=heading)
