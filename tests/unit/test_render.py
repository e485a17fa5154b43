"""Rendering every catalogue message in every language (pure, no I/O)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from models.enums import Locale
from notifications.catalogue import CATALOGUE
from notifications.i18n import LOCALE_DIR, TEMPLATE_DIR, missing_translations
from notifications.render import render
from notifications.samples import SAMPLE_CONTEXTS

TZ = "Asia/Shanghai"


@pytest.mark.parametrize("locale", list(Locale))
@pytest.mark.parametrize("template_id", sorted(CATALOGUE))
def test_every_message_renders_in_every_language(template_id: str, locale: Locale) -> None:
    msg = render(template_id, SAMPLE_CONTEXTS[template_id], locale, TZ)
    assert msg.subject and "\n" not in msg.subject
    assert msg.html.startswith("<!DOCTYPE html>") and msg.subject.split()[0] in msg.html
    assert msg.text.strip()
    assert "%(" not in msg.text + msg.html + msg.subject  # no untranslated placeholders
    chinese = re.search(r"[\u4e00-\u9fff]", re.sub(r"翠湖|黃|陳|李|[0-9]座|市政", "", msg.subject))
    if locale is Locale.EN:
        assert "This message was sent by Estate Care" in msg.text
    else:
        assert chinese, msg.subject


def test_traditional_and_simplified_use_their_own_characters() -> None:
    ctx = SAMPLE_CONTEXTS["complaint_ack"]
    hant = render("complaint_ack", ctx, Locale.ZH_HANT, TZ)
    hans = render("complaint_ack", ctx, "zh-Hans", TZ)
    assert hant.subject == "我們已收到您的投訴（CH-2026-0042）"
    assert hans.subject == "我们已收到您的投诉（CH-2026-0042）"


def test_times_are_shown_in_the_company_timezone_in_the_recipients_format() -> None:
    ctx = SAMPLE_CONTEXTS["complaint_ack"]  # received 01:30 UTC

    def text(locale: str, tz: str) -> str:
        return render("complaint_ack", ctx, locale, tz).text.replace("\u202f", " ")  # CLDR's narrow space

    assert "Nov 2, 2026, 9:30 AM" in text("en", "Asia/Shanghai")  # to the minute, no seconds
    assert "2026年11月2日 上午9:30" in text("zh-Hant", "Asia/Hong_Kong")
    assert "2026年11月2日 09:30" in text("zh-Hans", "Asia/Shanghai")
    assert "Nov 2, 2026, 1:30 AM" in text("en", "Europe/London")
    assert not re.search(r"\d:\d\d:\d\d", text("zh-Hant", "Asia/Hong_Kong"))


def test_resident_text_is_escaped_in_html_and_plain_in_text() -> None:
    ctx = dict(SAMPLE_CONTEXTS["work_arrangement"], content="<script>x()</script>", complainant_name="<b>Wong</b>")
    msg = render("work_arrangement", ctx, "en", TZ)
    assert "<script>" not in msg.html and "&lt;script&gt;x()&lt;/script&gt;" in msg.html
    assert "<b>Wong</b>" not in msg.html and "&lt;b&gt;Wong&lt;/b&gt;" in msg.html
    assert "<script>x()</script>" in msg.text
    ack = dict(SAMPLE_CONTEXTS["complaint_ack"], estate_name="<i>E&F</i>")  # a variable inside a trans block
    for locale in Locale:
        html = render("complaint_ack", ack, locale, TZ).html
        assert "<i>" not in html and "&lt;i&gt;E&amp;F&lt;/i&gt;" in html


def test_contact_details_appear_only_in_messages_that_may_show_them() -> None:
    contact = {"complainant_name": "黃大文", "complainant_phone": "13812345678", "complainant_email": "w@example.com"}
    for template_id, spec in CATALOGUE.items():
        msg = render(template_id, {**SAMPLE_CONTEXTS[template_id], **contact}, "zh-Hant", TZ)
        body = msg.subject + msg.text + msg.html
        if spec.shows_contact:
            assert "黃大文" in body and "13812345678" in body, template_id
        else:
            assert "黃大文" not in body and "13812345678" not in body and "w@example.com" not in body, template_id


def test_missing_context_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="reference"):
        render("final_reply", {"resolution_text": "done"}, "en", TZ)


def test_the_monthly_summary_draws_bar_charts_without_scripts_or_images() -> None:
    msg = render("monthly_summary", SAMPLE_CONTEXTS["monthly_summary"], "zh-Hant", TZ)
    assert msg.html.count("background-color:#2e7d32") >= 3 and "background-color:#c62828" in msg.html
    assert "<script" not in msg.html and "<img" not in msg.html
    assert "未達標" in msg.html and "設施故障" in msg.html


def test_every_template_string_is_translated_in_chinese() -> None:
    assert missing_translations() == {}


def test_a_template_string_without_a_translation_is_reported(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    for p in TEMPLATE_DIR.iterdir():
        (templates / p.name).write_bytes(p.read_bytes())
    source = (TEMPLATE_DIR / "final_reply.txt").read_text()
    new = "{{ _('A brand new sentence.') }}\n{% endblock %}\n"
    (templates / "final_reply.txt").write_text(source.replace("{% endblock %}\n", new, 1))
    missing = missing_translations(templates, LOCALE_DIR)
    assert missing == {Locale.ZH_HANT: ["A brand new sentence."], Locale.ZH_HANS: ["A brand new sentence."]}


def test_translating_at_compile_time_changes_no_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """``_("literal")`` and ``{% trans %}`` blocks translated when a template is compiled render
    exactly as the standard i18n extension's gettext calls at render time did."""
    import notifications.render as r

    folded = {
        (loc, tid): r.render(tid, ctx, loc, "Asia/Shanghai") for loc in Locale for tid, ctx in SAMPLE_CONTEXTS.items()
    }

    class Plain(r.Environment):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["extensions"] = ["jinja2.ext.i18n" if x is r.CompileTimeI18n else x for x in kwargs["extensions"]]
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(r, "Environment", Plain)
    r.environment.cache_clear()
    r._templates.cache_clear()
    try:
        plain = {
            (loc, tid): r.render(tid, ctx, loc, "Asia/Shanghai")
            for loc in Locale
            for tid, ctx in SAMPLE_CONTEXTS.items()
        }
    finally:
        r.environment.cache_clear()
        r._templates.cache_clear()
    assert plain == folded
    assert len(folded) == 3 * len(SAMPLE_CONTEXTS)
