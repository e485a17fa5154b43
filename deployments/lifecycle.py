"""Deployments of the complaint lifecycle flows.

Each deployment is named for what it does: the name of its flow (``intake``, ``assign``,
``deadline-sweep``, ...), so the Prefect UI's deployment list reads as the procedure. The
step flows have no schedule: the web process starts them as complaints move, and
operations can start them by hand in the Prefect UI. The sweeps run on intervals
(``ESTATECARE_*_EVERY_SECONDS``) and are the safety net that makes sure no accepted
complaint and no deadline is forgotten.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect import Flow
from prefect.deployments.runner import RunnerDeployment
from prefect.types.entrypoint import EntrypointType

from estatecare.settings import Settings, get_settings
from flows.after_revisit import after_revisit_flow
from flows.assess import assess_flow
from flows.assign import assign_flow
from flows.deadline_sweep import deadline_sweep_flow
from flows.intake import intake_flow
from flows.intake_sweep import intake_sweep_flow
from flows.notify import notify_flow
from flows.receive import receive_flow


def full_name(flow: Flow[..., Any]) -> str:
    """``flow/deployment`` of ``flow``'s deployment (it bears the flow's name)."""
    return f"{flow.name}/{flow.name}"


def deployment(flow: Flow[..., Any], **options: Any) -> RunnerDeployment:
    """``flow.to_deployment`` named after the flow, with the module entrypoint (works from
    any working directory)."""
    made = flow.to_deployment(
        name=flow.name, entrypoint_type=EntrypointType.MODULE_PATH, description=flow.description, **options
    )
    assert isinstance(made, RunnerDeployment)
    return made


def deployables(settings: Settings | None = None) -> list[RunnerDeployment]:
    """Every lifecycle deployment, with its schedule where it has one."""
    s = settings or get_settings()
    steps: list[Flow[..., Any]] = [
        intake_flow,
        receive_flow,
        assess_flow,
        assign_flow,
        notify_flow,
        after_revisit_flow,
    ]
    return [
        *(deployment(f, tags=["lifecycle"]) for f in steps),
        deployment(
            deadline_sweep_flow,
            interval=timedelta(seconds=s.deadline_sweep_every_seconds),
            tags=["lifecycle", "sweep"],
        ),
        deployment(
            intake_sweep_flow,
            interval=timedelta(seconds=s.intake_sweep_every_seconds),
            tags=["lifecycle", "sweep"],
        ),
    ]
