"""The demo history's months as the monthly flows and the deadline sweep recorded them: each month's
draw of work orders (``sampling.draw``, R-RV-6) with its sample list emailed and the sampled revisits
made, one or two answered by an open letter (R-RV-12); each month's summary emailed to leadership
(``monthly_report``, R-KP-1); the reminders of revisits still open (R-RV-13). Every email is
recorded as sent at the moment its flow ran."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.demo.texts import ANSWERS, OPINIONS, REFUSALS, SHORTCOMINGS
from estatecare.services import messages, sampling
from estatecare.services.lifecycle.revisit import revisit_subject
from estatecare.services.monthly_report import build_report, queue_summary
from models import Complaint, Estate, Notification, Revisit, SampleItem, SamplingDraw, Staff, WorkOrder
from models.enums import NotificationStatus, RevisitMethod, Role, Satisfaction, WorkOrderKind
from models.sampling import next_month, previous_month


def _last_notification(session: Session) -> int:
    session.flush()
    return session.scalar(select(func.max(Notification.id))) or 0


def _sent_since(session: Session, after: int, at: datetime) -> None:
    """The emails queued since notification ``after`` went out at ``at``."""
    session.flush()
    session.execute(
        update(Notification)
        .where(Notification.id > after)
        .values(
            status=NotificationStatus.SENT,
            attempts=1,
            created_at=at,
            next_attempt_at=at,
            sent_at=at + timedelta(minutes=1),
        )
    )


def months(core: App, start: datetime, now: datetime) -> list[tuple[int, int]]:
    """Every month from the one ``start`` is in to the one ``now`` is in (local time)."""
    first, last = start.astimezone(core.policy.tz), now.astimezone(core.policy.tz)
    found, (y, m) = [], (first.year, first.month)
    while (y, m) <= (last.year, last.month):
        found.append((y, m))
        y, m = next_month(y, m)
    return found


@dataclass(frozen=True)
class Recorder:
    """What recording the sampled revisits needs: the history's random generator and clock, and per
    estate the staff's language (0 Traditional, 1 Simplified) and the property supervisor who reviews."""

    rng: random.Random
    now: datetime
    langs: dict[int, int]
    supervisors: dict[int, int]
    signature: bytes


def draws(core: App, session: Session, estates: list[Estate], start: datetime, recorder: Recorder) -> None:
    """Each month's draw at its moment (the 30th, 18:00), its lists emailed, its revisits made."""
    for year, month in months(core, start, recorder.now):
        moment = core.deadlines.draw_at(year, month)
        if moment > recorder.now:
            break
        before = _last_notification(session)
        seeds = {e.id: recorder.rng.getrandbits(31) for e in estates}
        results = sampling.draw(core, session, estates, year, month, moment, seeds=seeds)
        sampling.queue_sample_lists(core, session, results, estates)
        _sent_since(session, before, moment)
        _sampled_revisits(session, [r.draw_id for r in results], recorder)


def _sampled_revisits(session: Session, draw_ids: list[int], recorder: Recorder) -> None:
    """``revisits.record_order_revisit`` for the sample, mostly before the 5th: on site with a signature
    (or the resident's refusal) as planned, the rest by phone; in some months the phone revisits of
    cleaning jobs answered by one open letter (R-RV-6..8, R-RV-12)."""
    rng, now = recorder.rng, recorder.now
    rows = session.execute(
        select(Revisit, WorkOrder.kind, SamplingDraw.drawn_at, SamplingDraw.month)
        .join(SampleItem, SampleItem.id == Revisit.sample_item_id)
        .join(SamplingDraw, SamplingDraw.id == SampleItem.draw_id)
        .join(WorkOrder, WorkOrder.id == Revisit.work_order_id)
        .where(SamplingDraw.id.in_(draw_ids))
        .order_by(Revisit.id)
    ).all()
    letters: dict[int, list[Revisit]] = {}
    for revisit, kind, drawn_at, month in rows:
        window = int((revisit.due_at - drawn_at).total_seconds())
        done = drawn_at + timedelta(seconds=rng.randint(3600, window - 3600))
        recorded = done + timedelta(minutes=rng.randint(10, 120) if rng.random() > 0.04 else 60 * 60)
        if recorded > now or rng.random() < 0.03:
            continue  # not made (yet): the month's handling falls short of 100 %
        phone_cleaning = revisit.method is RevisitMethod.PHONE and kind is WorkOrderKind.CLEANING
        if phone_cleaning and month[-2:] in ("03", "08", "11"):
            letters.setdefault(revisit.estate_id, []).append(revisit)
            continue
        _record(session, revisit, done, recorded, recorder)
    for estate_revisits in letters.values():
        _open_letter(session, estate_revisits, now)


def _record(session: Session, revisit: Revisit, done: datetime, recorded: datetime, recorder: Recorder) -> None:
    """One sampled revisit recorded; an unsatisfied one gets its next revisit on the date agreed,
    by phone from the 2nd on (R-RV-10, R-RV-11)."""
    rng, lang = recorder.rng, recorder.langs[revisit.estate_id]
    roll = rng.random()
    satisfaction = Satisfaction.SATISFIED if roll < 0.82 else Satisfaction.BASICALLY_SATISFIED
    unhappy = roll >= 0.97
    if unhappy:
        satisfaction = Satisfaction.UNSATISFIED
    on_site = revisit.method is RevisitMethod.ON_SITE
    signed = on_site and rng.random() < 0.92
    revisit.done_at, revisit.recorded_at, revisit.satisfaction = done, recorded, satisfaction
    revisit.answers = {k: rng.choice(v)[lang] for k, v in ANSWERS.items()} | {
        "shortcomings": rng.choice(SHORTCOMINGS)[lang] if unhappy else "",
        "suggestions": "",
    }
    revisit.signature_png = recorder.signature if signed else None
    revisit.refusal_note = rng.choice(REFUSALS)[lang] if on_site and not signed else ""
    if unhappy:
        revisit.next_reply_at = recorded + timedelta(days=rng.randint(2, 5))
        follow = Revisit(
            estate_id=revisit.estate_id, work_order_id=revisit.work_order_id, kind=revisit.kind,
            method=revisit.method, sequence=revisit.sequence + 1, visitor_id=revisit.visitor_id,
            due_at=revisit.next_reply_at, created_at=recorded, answers={}, refusal_note="", new_issue="",
            open_letter_ref="", supervisor_opinion="",
        )  # fmt: skip
        again = revisit.next_reply_at - timedelta(hours=rng.randint(2, 30))
        if again <= recorder.now:
            follow.method, follow.done_at, follow.recorded_at = (
                RevisitMethod.PHONE,
                again,
                again + timedelta(minutes=20),
            )
            follow.satisfaction = Satisfaction.BASICALLY_SATISFIED
            follow.answers = {k: v[0][lang] for k, v in ANSWERS.items()} | {"shortcomings": "", "suggestions": ""}
        session.add(follow)
    if rng.random() < 0.85 and (at := recorded + timedelta(hours=rng.randint(2, 72))) <= recorder.now:
        # the property supervisor reviews the manager's record (R-RV-9)
        revisit.reviewed_by_id, revisit.reviewed_at = recorder.supervisors[revisit.estate_id], at
        revisit.supervisor_opinion = rng.choice(OPINIONS)[lang]


def _open_letter(session: Session, revisits: list[Revisit], now: datetime) -> None:
    """``revisits.answer_by_open_letter``: one letter about the common parts' cleaning answers these
    revisits; a letter has no satisfaction, answers or signature (R-RV-12)."""
    if len(revisits) < 2:
        return
    code = session.scalar(select(Estate.code).where(Estate.id == revisits[0].estate_id))
    done = max(r.created_at for r in revisits) + timedelta(days=2)
    if done > now:
        return
    manager = session.scalar(
        select(Staff.id)
        .where(Staff.estate_id == revisits[0].estate_id, Staff.role == Role.SERVICE_CENTRE_MANAGER)
        .order_by(Staff.id)
    )
    month = revisits[0].created_at.astimezone(UTC)
    for r in revisits:
        r.method, r.visitor_id, r.done_at, r.recorded_at = RevisitMethod.LETTER, manager, done, done
        r.open_letter_ref = f"{code}-公開信-{month:%Y-%m}"


def reminders(core: App, session: Session, now: datetime) -> None:
    """``reminders.revisit_reminders`` as the sweep ran it: each revisit still open and due by the
    reminder window was reminded of ``revisit_reminder_hours`` before it was due (R-RV-13)."""
    ahead = timedelta(hours=core.policy.deadlines.revisit_reminder_hours)
    due = session.scalars(
        select(Revisit)
        .where(Revisit.done_at.is_(None), Revisit.visitor_id.is_not(None), Revisit.due_at <= now + ahead)
        .order_by(Revisit.due_at, Revisit.id)
    ).all()
    for revisit in due:
        at = min(max(revisit.due_at - ahead, revisit.created_at), now)
        visitor = session.get(Staff, revisit.visitor_id)
        assert visitor is not None
        subject_ref, resident = revisit_subject(core, session, revisit)
        complaint = session.get(Complaint, revisit.complaint_id) if revisit.complaint_id is not None else None
        unit = messages.unit_label(session, resident.unit_id)
        before = _last_notification(session)
        messages.revisit_reminder(
            core, session, revisit, visitor, subject_ref=subject_ref, unit=unit, complaint=complaint, now=at
        )
        _sent_since(session, before, at)


def summary(core: App, session: Session, now: datetime) -> None:
    """The last month's summary to leadership with the statistics form, as the flow sent it at 09:00
    on the 1st (R-KP-1). Earlier months' are not recorded: each takes the report, its charts and its
    workbook to build (the web app and the API build any month's report when asked)."""
    s, tz = core.policy.summary, core.policy.tz
    local = now.astimezone(tz)
    at = datetime.combine(date(local.year, local.month, s.day), s.time, tzinfo=tz).astimezone(UTC)
    year, month = previous_month(local.year, local.month)
    if at > now:
        at = datetime.combine(date(year, month, s.day), s.time, tzinfo=tz).astimezone(UTC)
        year, month = previous_month(year, month)
    before = _last_notification(session)
    queue_summary(core, session, build_report(core, session, year, month, generated_at=at), now=at)
    _sent_since(session, before, at)
