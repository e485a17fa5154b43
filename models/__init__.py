"""Domain model: typed SQLAlchemy tables and the pure rules of the procedures."""

from models.attachment import ComplaintAttachment
from models.base import Base, utcnow
from models.complaint import Assignment, Complaint, ComplaintEvent, Escalation
from models.org import Building, Department, Estate, Resident, Staff, Unit
from models.outbox import Notification, NotificationAttachment
from models.revisit import Revisit, SampleItem, SamplingDraw, WorkOrder, WorkOrderEvent
from models.web import ContactView, IdempotentRequest, UsedLink

__all__ = [
    "Assignment",
    "Base",
    "Building",
    "Complaint",
    "ComplaintAttachment",
    "ComplaintEvent",
    "ContactView",
    "Department",
    "Escalation",
    "Estate",
    "IdempotentRequest",
    "Notification",
    "NotificationAttachment",
    "Resident",
    "Revisit",
    "SampleItem",
    "SamplingDraw",
    "Staff",
    "Unit",
    "UsedLink",
    "WorkOrder",
    "WorkOrderEvent",
    "utcnow",
]
