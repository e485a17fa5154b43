"""Delivery of the monthly report: the summary email with the .xlsx to leadership (R-KP-1)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.services.monthly_report.charts import trend_charts
from estatecare.services.monthly_report.html import email_context
from estatecare.services.monthly_report.schema import MonthlyReport
from estatecare.services.monthly_report.trends import MonthFigures, monthly_trend
from estatecare.services.monthly_report.xlsx import XLSX_TYPE, workbook
from models import Estate, Notification, Staff
from models.enums import Locale, Role
from models.sampling import parse_month
from notifications.outbox import queue


def leaders(session: Session) -> list[Staff]:
    """Company-wide leadership who receive the monthly report (R-KP-1)."""
    return list(
        session.scalars(
            select(Staff)
            .where(Staff.role.in_([Role.DEPUTY_GM, Role.GM]), Staff.active.is_(True), Staff.estate_id.is_(None))
            .order_by(Staff.id)
        )
    )


def queue_summary(
    core: App, session: Session, report: MonthlyReport, *, force: bool = False, now: datetime | None = None
) -> list[int]:
    """Queue the summary email with the .xlsx to leadership (and, for one estate, its managers),
    with the trend charts of the twelve months up to the report's in each recipient's language.

    Idempotent: a second run for the same month queues nothing unless ``force``.
    Returns the ids of newly queued notifications.
    """
    scope = report.company if report.company is not None else report.estates[0]
    recipients = leaders(session)
    if report.company is None:
        estate = session.scalar(select(Estate).where(Estate.code == scope.code))
        assert estate is not None
        recipients += list(
            session.scalars(
                select(Staff).where(
                    Staff.estate_id == estate.id, Staff.role == Role.SERVICE_CENTRE_MANAGER, Staff.active.is_(True)
                )
            )
        )
    xlsx = workbook(report)
    filename = f"monthly-revisit-statistics-{report.month}{'' if scope.code == '*' else '-' + scope.code}.xlsx"
    suffix = f":forced:{(now or datetime.now(UTC)).isoformat()}" if force else ""
    url = f"{core.settings.base_url.rstrip('/')}/staff/reports/monthly?month={report.month}"
    if scope.code != "*":
        url += f"&estate={scope.code}"
    trend: list[MonthFigures] = []
    charts: dict[Locale, list[dict[str, str]]] = {}

    def charts_in(locale: Locale) -> list[dict[str, str]]:
        if not trend:
            trend.extend(
                monthly_trend(core, session, *parse_month(report.month), None if scope.code == "*" else scope.code)
            )
        if locale not in charts:
            target = core.policy.targets.on_site_signed_share_min
            drawn = trend_charts(trend, locale, on_site_target=target, id_prefix=f"summary-{report.month}")
            charts[locale] = [{"title": c.title, "svg": c.svg} for c in drawn]
        return charts[locale]

    queued: list[int] = []
    for person in recipients:
        key = f"monthly_summary:{report.month}:{scope.code}:{person.id}{suffix}"
        if session.scalar(select(Notification.id).where(Notification.idempotency_key == key)) is not None:
            continue
        row = queue(
            session,
            template="monthly_summary",
            to_email=person.email,
            to_name=person.name,
            locale=person.locale,
            context={
                **email_context(report, scope, Locale(person.locale), url),
                "charts": charts_in(Locale(person.locale)),
            },
            key=key,
            staff_id=person.id,
            attachments=[(filename, XLSX_TYPE, xlsx)],
        )
        session.flush()
        queued.append(row.id)
    return queued
