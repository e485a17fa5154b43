"""The company policy: every number DOMAIN.md marks as a default, in one TOML file.

Validated with pydantic; :func:`load_policy` raises :class:`PolicyError` whose message
names each bad key, its value and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from models.enums import Category, Locale, Role, ServiceArea, Severity, Trade, Urgency, WorkOrderKind

Positive = Annotated[int, Field(gt=0)]
Share = Annotated[float, Field(ge=0, le=1)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Company(_Section):
    """Company-wide settings."""

    name: str = "Estate Care"
    timezone: str = "Asia/Shanghai"
    default_locale: Locale = Locale.ZH_HANT

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r} (e.g. 'Asia/Shanghai', 'Asia/Hong_Kong')") from None
        return value


class Calendar(_Section):
    """Optional business calendar for day-based deadlines."""

    business_days: bool = False
    holidays_country: Literal["CN", "HK", "TW"] = "CN"
    extra_holidays: list[str] = []
    extra_workdays: list[str] = []


class Deadlines(_Section):
    """Deadlines (R-HD-1, R-RV-3..6, R-RV-13)."""

    urgent_assign_minutes: Positive = 30
    first_response_hours: Positive = 24
    general_resolution_days: Positive = 2
    major_resolution_days: Positive = 5  # provisional until leadership sets one (R-HD-1)
    complaint_revisit_days: Positive = 2
    major_job_revisit_hours: Positive = 24
    renovation_revisit_days: Positive = 7
    revisit_record_days: Annotated[int, Field(ge=0)] = 1
    sample_revisits_before_day: Annotated[int, Field(ge=2, le=28)] = 5
    revisit_reminder_hours: Positive = 12  # the visitor is reminded this long before a revisit is due (R-RV-13)


class Escalation(_Section):
    """The chain up from the handler (R-HD-3) and where major complaints start (R-AS-4)."""

    chain: list[Role] = [
        Role.PROPERTY_SUPERVISOR,
        Role.SERVICE_CENTRE_MANAGER,
        Role.DEPUTY_GM,
        Role.GM,
    ]
    general_handler_role: Role = Role.PROPERTY_SUPERVISOR
    major_handler_role: Role = Role.SERVICE_CENTRE_MANAGER
    report_major_to: Role = Role.DEPUTY_GM
    # A superior who does not act on an escalation within this time passes it one level further up.
    level_deadline_hours: Positive = 24

    @field_validator("chain")
    @classmethod
    def _non_empty_unique(cls, value: list[Role]) -> list[Role]:
        if not value:
            raise ValueError("the escalation chain needs at least one role")
        if len(set(value)) != len(value):
            raise ValueError("a role appears twice in the escalation chain")
        return value


#: The fields a person decides when assessing a complaint (R-AS-1..3).
AssessedField = Literal["category", "service_area", "urgency", "severity", "valid"]
ASSESSED_FIELDS: tuple[AssessedField, ...] = ("category", "service_area", "urgency", "severity", "valid")


class KeywordRule(_Section):
    """A keyword rule SUGGESTS the fields it sets when one of its keywords is in the text
    (R-AS-1..3); a person decides, unless ``apply_alone`` names fields the rule may decide alone.

    Chinese keywords match anywhere (list the Traditional and the Simplified form); English ones
    on word boundaries. A hit is cancelled when one of ``unless`` overlaps it (``火`` in ``火鍋``).
    ``not_with`` words anywhere in the text silence the rule (``昨天``: a trapping that is over).
    ``apply_alone`` may name a field the rule does not set: the rule then vouches for the default
    (normal urgency, general severity, valid).
    """

    name: Annotated[str, Field(max_length=60)] = ""
    keywords: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    unless: list[Annotated[str, Field(min_length=1)]] = []
    not_with: list[Annotated[str, Field(min_length=1)]] = []
    category: Category | None = None
    service_area: ServiceArea | None = None
    urgency: Urgency | None = None
    severity: Severity | None = None
    valid: bool | None = None  # false: outside the company's duty (R-AS-2)
    apply_alone: list[AssessedField] = []

    @model_validator(mode="after")
    def _suggests_something(self) -> KeywordRule:
        fields = (self.category, self.service_area, self.urgency, self.severity, self.valid)
        if all(value is None for value in fields):
            raise ValueError("a rule sets at least one of category, service_area, urgency, severity, valid")
        for name in ("category", "service_area"):
            if name in self.apply_alone and getattr(self, name) is None:
                raise ValueError(f"apply_alone names {name!r}, which the rule does not set")
        if len(set(self.apply_alone)) != len(self.apply_alone):
            raise ValueError("a field appears twice in apply_alone")
        return self


class Assessment(_Section):
    """Assessment by keyword rules: they suggest, a person decides (R-AS-1..4).

    ``auto`` lets rules apply the fields their ``apply_alone`` names; a complaint is assessed
    without a person only when every field, validity included, is decided by such rules.
    ``major_keywords`` is a shorthand for one rule suggesting major severity.
    """

    auto: bool = True
    rules: list[KeywordRule] = []
    major_keywords: list[Annotated[str, Field(min_length=1)]] = []


class Duplicates(_Section):
    """Duplicate detection (R-IN-5)."""

    window_days: Positive = 7
    similarity: Annotated[float, Field(gt=0, le=1)] = 0.6


class SamplingTier(_Section):
    """Below ``below`` orders take ``take`` (or ``percent``), rounded up."""

    below: Positive | None = None
    take: Positive | None = None
    percent: Annotated[float, Field(gt=0, le=100)] | None = None

    @model_validator(mode="after")
    def _one_size(self) -> SamplingTier:
        if (self.take is None) == (self.percent is None):
            raise ValueError("a tier gives exactly one of 'take' or 'percent'")
        return self


class Sampling(_Section):
    """Monthly sampling of work orders (R-RV-6)."""

    rule: Literal["tiered", "percent", "percent_capped_households"] = "tiered"
    tiers: list[SamplingTier] = [
        SamplingTier(below=20, take=5),
        SamplingTier(below=51, percent=30),
        SamplingTier(take=20),
    ]
    percent: Annotated[float, Field(gt=0, le=100)] = 5
    household_cap_percent: Annotated[float, Field(gt=0, le=100)] = 5
    on_site_min_share: Share = 0.5
    kinds: list[WorkOrderKind] = [WorkOrderKind.REPAIR, WorkOrderKind.CLEANING]
    draw_day: Annotated[int, Field(ge=1, le=31)] = 30
    draw_time: dt.time = dt.time(18, 0)

    @field_validator("tiers")
    @classmethod
    def _tiers_ascending(cls, value: list[SamplingTier]) -> list[SamplingTier]:
        if not value or value[-1].below is not None:
            raise ValueError("the last tier has no 'below' (it takes every larger population)")
        bounds = [t.below for t in value[:-1]]
        if any(b is None for b in bounds) or bounds != sorted(b or 0 for b in bounds):
            raise ValueError("tiers need ascending 'below' bounds")
        return value


class Targets(_Section):
    """Monthly targets (R-KP-2)."""

    revisit_handling_rate: Share = 1.0
    repair_satisfaction: Share = 0.98
    on_site_signed_share_min: Share = 0.40
    phone_letter_share_max: Share = 0.70


class Retention(_Section):
    """Retention periods in years (R-RC-2)."""

    complaint_years: Positive = 2
    violation_general_years: Positive = 1
    violation_major_years: Positive = 5


class Summary(_Section):
    """When the monthly summary runs."""

    day: Annotated[int, Field(ge=1, le=28)] = 1
    time: dt.time = dt.time(9, 0)


class Repairs(_Section):
    """Repair and service requests: the department each trade goes to (R-HD-2), and how soon the
    technician is on site (a time the resident booked is kept instead for a normal job)."""

    routing: dict[Trade, str] = {
        Trade.WATER: "engineering",
        Trade.ELECTRICAL: "engineering",
        Trade.DOORS_WINDOWS: "engineering",
        Trade.LIFTS: "engineering",
        Trade.CLEANING: "cleaning",
        Trade.RENOVATION_APPLICATION: "management_office",
        Trade.RENOVATION_COMPLETION: "management_office",
        Trade.OTHER: "management_office",
    }
    urgent_on_site_minutes: Positive = 30
    normal_on_site_hours: Positive = 24


DEFAULT_DEPARTMENTS = {
    "engineering": "工程部",
    "security": "保安部",
    "cleaning": "清潔部",
    "landscaping": "綠化部",
    "management_office": "管理處",
    "customer_service": "客服中心",
}


class Policy(_Section):
    """The whole policy file."""

    company: Company = Company()
    calendar: Calendar = Calendar()
    deadlines: Deadlines = Deadlines()
    escalation: Escalation = Escalation()
    departments: dict[str, str] = DEFAULT_DEPARTMENTS
    routing: dict[Category, str] = {
        Category.FACILITY: "engineering",
        Category.SERVICE: "customer_service",
        Category.ENVIRONMENT: "cleaning",
        Category.SAFETY: "security",
        Category.OTHER: "management_office",
    }
    # A service area names the responsible department more precisely than the category (R-HD-2):
    # renovation noise is environment, but the management office, not cleaning, deals with it.
    area_routing: dict[ServiceArea, str] = {
        ServiceArea.HOUSING: "management_office",
        ServiceArea.SECURITY: "security",
        ServiceArea.VEHICLES: "security",
        ServiceArea.CLEANING: "cleaning",
        ServiceArea.LANDSCAPING: "landscaping",
        ServiceArea.REPAIRS: "engineering",
        ServiceArea.COMMUNITY: "customer_service",
        ServiceArea.CONVENIENCE: "customer_service",
    }
    repairs: Repairs = Repairs()
    assessment: Assessment = Assessment()
    duplicates: Duplicates = Duplicates()
    sampling: Sampling = Sampling()
    targets: Targets = Targets()
    retention: Retention = Retention()
    summary: Summary = Summary()

    @model_validator(mode="after")
    def _routing_complete(self) -> Policy:
        for category, department in self.routing.items():
            if department not in self.departments:
                raise _KeyError(
                    f"routing.{category.value}",
                    department,
                    f"one of the departments: {', '.join(sorted(self.departments))}",
                )
        for area, department in self.area_routing.items():
            if department not in self.departments:
                raise _KeyError(
                    f"area_routing.{area.value}",
                    department,
                    f"one of the departments: {', '.join(sorted(self.departments))}",
                )
        for trade, department in self.repairs.routing.items():
            if department not in self.departments:
                raise _KeyError(
                    f"repairs.routing.{trade.value}",
                    department,
                    f"one of the departments: {', '.join(sorted(self.departments))}",
                )
        if missing_trades := [t.value for t in Trade if t not in self.repairs.routing]:
            raise _KeyError(
                "repairs.routing",
                sorted(self.repairs.routing),
                f"a department for every trade; missing {missing_trades}",
            )
        missing = [c.value for c in Category if c not in self.routing]
        if missing:
            raise _KeyError("routing", sorted(self.routing), f"a department for every category; missing {missing}")
        return self

    def department_for(self, category: Category, service_area: ServiceArea | None) -> str:
        """The responsible department's code: by the service area when the policy routes it, else
        by the category (R-HD-2)."""
        if service_area is not None and service_area in self.area_routing:
            return self.area_routing[service_area]
        return self.routing[category]

    @property
    def tz(self) -> ZoneInfo:
        """The company's timezone."""
        return ZoneInfo(self.company.timezone)


class _KeyError(ValueError):
    """A cross-field problem tied to one key (raised inside validators)."""

    def __init__(self, key: str, value: Any, allowed: str) -> None:
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"{key} = {value!r}: {allowed}")


class PolicyError(Exception):
    """The policy file cannot be used; the message names every bad key."""


def _format_errors(source: str, exc: ValidationError) -> str:
    lines = [f"policy {source} is invalid:"]
    for err in exc.errors():
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _KeyError):
            lines.append(f"  {ctx_error}")
            continue
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key")
            continue
        lines.append(f"  {key} = {err.get('input')!r}: {err['msg']}")
    return "\n".join(lines)


def parse_policy(data: dict[str, Any], source: str = "(inline)") -> Policy:
    """Validate a parsed policy mapping."""
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_format_errors(source, exc)) from None


def load_policy(path: Path | str | None = None) -> Policy:
    """Read and validate the policy file; ``None`` loads the shipped default."""
    file = Path(path) if path is not None else DEFAULT_POLICY_FILE
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"policy {file}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy {file}: not valid TOML: {exc}") from None
    return parse_policy(data, str(file))


POLICY_DIR = Path(__file__).resolve().parent / "policies"
DEFAULT_POLICY_FILE = POLICY_DIR / "default.toml"
