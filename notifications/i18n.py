"""Message catalogs for the emails: Babel .po files compiled in memory, and extraction.

The .po files under ``notifications/locale/`` are the source of truth; they are
compiled when first used, so a fresh clone needs no build step and no .mo files.
Source strings (msgids) are English and live in the templates.

``python -m notifications.i18n`` merges new template strings into every .po file.
"""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import Translations

from models.enums import Locale

HERE = Path(__file__).parent
TEMPLATE_DIR = HERE / "templates"
LOCALE_DIR = HERE / "locale"

#: Babel locale names of our languages.
BABEL_LOCALES: dict[Locale, str] = {Locale.ZH_HANT: "zh_Hant", Locale.ZH_HANS: "zh_Hans", Locale.EN: "en"}

_METHOD_MAP = [("**.html", "jinja2.ext:babel_extract"), ("**.txt", "jinja2.ext:babel_extract")]
_OPTIONS = {
    "**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"},
    "**.txt": {"extensions": "jinja2.ext.i18n", "trimmed": "true"},
}


def po_path(locale: Locale, locale_dir: Path = LOCALE_DIR) -> Path:
    """Where the catalog of ``locale`` lives."""
    return locale_dir / BABEL_LOCALES[locale] / "LC_MESSAGES" / "messages.po"


def read_catalog(locale: Locale, locale_dir: Path = LOCALE_DIR) -> Catalog:
    """The parsed .po catalog of ``locale``."""
    with po_path(locale, locale_dir).open("rb") as fh:
        return read_po(fh, locale=BABEL_LOCALES[locale])


@cache
def translations(locale: Locale) -> Translations:
    """Gettext translations for ``locale``, compiled from its .po file in memory (fuzzy ones left out)."""
    buf = BytesIO()
    write_mo(buf, read_catalog(locale), use_fuzzy=False)
    buf.seek(0)
    return Translations(fp=buf, domain="messages")


def extract(template_dir: Path = TEMPLATE_DIR) -> Catalog:
    """Every msgid used by the templates, with where it is used."""
    catalog = Catalog(project="estatecare", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(template_dir), method_map=_METHOD_MAP, options_map=_OPTIONS
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def missing_translations(
    template_dir: Path = TEMPLATE_DIR, locale_dir: Path = LOCALE_DIR, locales: tuple[Locale, ...] = ()
) -> dict[Locale, list[str]]:
    """Per locale, the template msgids that have no (non-fuzzy) translation."""
    used = extract(template_dir)
    out: dict[Locale, list[str]] = {}
    for locale in locales or (Locale.ZH_HANT, Locale.ZH_HANS):
        catalog = read_catalog(locale, locale_dir)
        missing: list[str] = []
        for msg in used:
            if not msg.id:
                continue
            have = catalog.get(msg.id, msg.context)
            strings = have.string if have is not None else None
            values = list(strings) if isinstance(strings, tuple | list) else [strings]
            if have is None or have.fuzzy or not all(values):
                missing.append(msg.id if isinstance(msg.id, str) else msg.id[0])
        if missing:
            out[locale] = missing
    return out


def update_catalogs(template_dir: Path = TEMPLATE_DIR, locale_dir: Path = LOCALE_DIR) -> None:
    """Merge the templates' msgids into every .po file (new ones untranslated, gone ones obsolete)."""
    template = extract(template_dir)
    for locale in BABEL_LOCALES:
        path = po_path(locale, locale_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            catalog = read_catalog(locale, locale_dir)
        else:
            catalog = Catalog(locale=BABEL_LOCALES[locale], project="estatecare", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True)
        with path.open("wb") as fh:
            write_po(fh, catalog, width=120, omit_header=False, ignore_obsolete=True, sort_output=False)


if __name__ == "__main__":
    update_catalogs()
