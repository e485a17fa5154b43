"""The monthly report's own labels (CLI, Markdown, spreadsheet) use the glossary's words for the
statuses, categories, service areas, revisit methods and work-order kinds, as pages and emails do."""

from __future__ import annotations

from estatecare.services.monthly_report.labels import LABELS
from tests.unit.test_untranslated_mail import glossary

#: glossary table -> how the report's labels name one of its codes
KEYS = {
    "Statuses of a complaint": "status_{code}",
    "Categories (投訴性質)": "{code}",
    "Service areas (服務範疇)": "{code}",
    "Revisit methods": "method_{code}",
    "Work-order kinds": "{code}",
}


def test_the_reports_labels_follow_the_glossary() -> None:
    checked, wrong = 0, []
    for term in glossary():
        pattern = KEYS.get(term.table)
        if pattern is None or not term.code:
            continue
        key = pattern.format(code=term.code)
        if key not in LABELS:
            continue
        hant, hans, _english = LABELS[key]
        checked += 1
        if (hant, hans) != (term.hant, term.hans):
            wrong.append(f"{key}: {hant} / {hans}, glossary {term.hant} / {term.hans}")
    assert checked >= 20, f"only {checked} labels matched a glossary row"
    assert wrong == []
