"""Enumerations of the domain vocabulary (DOMAIN.md), stored as strings."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """How a complaint reached us (R-IN-1)."""

    PHONE = "phone"
    EMAIL = "email"
    FRONT_DESK = "front_desk"
    ONLINE = "online"
    LETTER = "letter"
    SUPERIOR_BODY = "superior_body"
    PATROL = "patrol"
    REVISIT = "revisit"  # raised during a revisit (R-RV-10)


class Category(StrEnum):
    """Nature of the complaint, 投訴性質 (R-AS-1)."""

    FACILITY = "facility"
    SERVICE = "service"
    ENVIRONMENT = "environment"
    SAFETY = "safety"
    OTHER = "other"


class ServiceArea(StrEnum):
    """Service area used by reports (R-AS-1, seed 001)."""

    HOUSING = "housing"  # 房管
    SECURITY = "security"  # 治安
    VEHICLES = "vehicles"  # 車輛
    CLEANING = "cleaning"  # 清潔
    LANDSCAPING = "landscaping"  # 綠化
    REPAIRS = "repairs"  # 維修
    COMMUNITY = "community"  # 社區活動
    CONVENIENCE = "convenience"  # 便民服務


class Severity(StrEnum):
    """General or major (R-AS-3)."""

    GENERAL = "general"
    MAJOR = "major"


class Urgency(StrEnum):
    """Urgent or normal (R-AS-3)."""

    URGENT = "urgent"
    NORMAL = "normal"


class Role(StrEnum):
    """Staff roles, ordered roughly from the front desk up to the general manager."""

    RECEPTIONIST = "receptionist"
    HANDLER = "handler"
    DEPARTMENT_HEAD = "department_head"
    PROPERTY_SUPERVISOR = "property_supervisor"
    SERVICE_CENTRE_MANAGER = "service_centre_manager"
    DEPUTY_GM = "deputy_gm"
    GM = "gm"


class ComplaintStatus(StrEnum):
    """Lifecycle states of a complaint."""

    RECEIVED = "received"
    ASSESSED = "assessed"
    INVALID = "invalid"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    REVISIT_DUE = "revisit_due"
    REOPENED = "reopened"
    CLOSED = "closed"


class RevisitMethod(StrEnum):
    """How a revisit is made (R-RV-1)."""

    ON_SITE = "on_site"
    PHONE = "phone"
    LETTER = "letter"


class RevisitKind(StrEnum):
    """What a revisit follows up (R-RV-2)."""

    COMPLAINT = "complaint"
    SUGGESTION = "suggestion"
    SURVEY = "survey"
    SERVICE = "service"
    RENOVATION = "renovation"


class Satisfaction(StrEnum):
    """Satisfaction scale (R-RV-7)."""

    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    UNSATISFIED = "unsatisfied"


class WorkOrderKind(StrEnum):
    """Kinds of work orders; general repair and cleaning are sampled monthly (R-RV-6)."""

    REPAIR = "repair"
    CLEANING = "cleaning"
    URGENT_REPAIR = "urgent_repair"
    MAJOR_REPAIR = "major_repair"
    RENOVATION = "renovation"
    OTHER = "other"


class Trade(StrEnum):
    """What a repair or service request is about (報修): the trade that does it routes it (R-HD-2)."""

    WATER = "water"
    ELECTRICAL = "electrical"
    DOORS_WINDOWS = "doors_windows"
    LIFTS = "lifts"
    CLEANING = "cleaning"
    RENOVATION_APPLICATION = "renovation_application"
    RENOVATION_COMPLETION = "renovation_completion"
    OTHER = "other"


class WorkOrderStatus(StrEnum):
    """Where a job stands: requested, dispatched (派工), on site, completed (完工), closed after its revisit."""

    REQUESTED = "requested"
    DISPATCHED = "dispatched"
    ARRIVED = "arrived"
    COMPLETED = "completed"
    CLOSED = "closed"


class WorkOrderAction(StrEnum):
    """A step in a job's history (R-RC-1): each moves it in ``models.repairs.MOVES``, except the
    request (its first record), a revisit's outcome and a missed on-site deadline, which are recorded
    as it stands."""

    REQUEST = "request"
    DISPATCH = "dispatch"
    REASSIGN = "reassign"
    ARRIVE = "arrive"
    COMPLETE = "complete"
    REVISIT = "revisit"
    REOPEN = "reopen"  # an unsatisfied revisit: the job is put right again (R-RV-11)
    CLOSE = "close"
    OVERDUE = "overdue"  # nobody on site by the deadline: the department head was told


class EscalationKind(StrEnum):
    """Why a complaint went up the chain (R-HD-3)."""

    TRANSFER_SHEET = "transfer_sheet"  # 工作傳簽單, asked by the handler
    MAJOR = "major"  # major complaint reported at once (R-AS-4)
    DEADLINE_MISSED = "deadline_missed"
    WRITTEN = "written"  # a written complaint goes to leadership (R-IN-3)


class DeadlineKind(StrEnum):
    """Deadlines tracked on a complaint (R-HD-1, R-RV-3)."""

    RESPONSE = "response"
    RESOLUTION = "resolution"
    REVISIT = "revisit"


class NotificationStatus(StrEnum):
    """Delivery state of an outbox row."""

    PENDING = "pending"
    SENDING = "sending"  # claimed by a sender until ``lease_until``
    SENT = "sent"
    FAILED = "failed"


class Locale(StrEnum):
    """Languages of the UI and emails; zh-Hant is the default."""

    ZH_HANT = "zh-Hant"
    ZH_HANS = "zh-Hans"
    EN = "en"
