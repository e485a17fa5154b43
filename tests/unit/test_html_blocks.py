"""The email's HTML blocks escape every value, whatever characters it holds."""

from __future__ import annotations

from markupsafe import Markup

from notifications.html_blocks import button, facts, heading, quote

EVIL = '<script>alert("x")</script> & 100% {0} %s'
SAFE = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; 100% {0} %s"


def test_every_block_escapes_its_values_and_keeps_percent_signs_and_braces() -> None:
    blocks = [facts([(EVIL, EVIL), ("n", 3)]), quote(EVIL), button(EVIL, EVIL), heading(EVIL)]
    for html in blocks:
        assert isinstance(html, Markup)
        assert "<script>" not in html and SAFE in html
    assert facts([(EVIL, EVIL)]).count(SAFE) == 2
    assert button("https://x.test/a?b=1&c=2", "go").count("https://x.test/a?b=1&amp;c=2") == 2


def test_an_empty_fact_table_is_still_a_table() -> None:
    assert facts([]).startswith("<table") and facts([]).endswith("</table>\n")
