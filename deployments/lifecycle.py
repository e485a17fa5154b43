"""Deployments of the complaint lifecycle flows.

The step flows have no schedule: the web process starts them as complaints move, and
operations can start them by hand in the Prefect UI. The sweeps run on intervals and are
the safety net that makes sure no accepted complaint and no deadline is forgotten.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect import Flow
from prefect.deployments.runner import RunnerDeployment
from prefect.types.entrypoint import EntrypointType

from flows.assess import assess_flow
from flows.assign import assign_flow
from flows.close import close_flow
from flows.deadline_sweep import deadline_sweep_flow
from flows.escalation import escalation_flow
from flows.intake import intake_flow
from flows.intake_sweep import intake_sweep_flow
from flows.receive import receive_flow
from flows.resolve import resolve_flow
from flows.revisit import revisit_flow

DEADLINE_SWEEP_EVERY = timedelta(minutes=5)
INTAKE_SWEEP_EVERY = timedelta(minutes=10)  # the web process also sweeps every 30 s while it runs


def deployment(flow: Flow[..., Any], name: str, **options: Any) -> RunnerDeployment:
    """``flow.to_deployment`` with the module entrypoint (works from any working directory)."""
    made = flow.to_deployment(name=name, entrypoint_type=EntrypointType.MODULE_PATH, **options)
    assert isinstance(made, RunnerDeployment)
    return made


def deployables() -> list[RunnerDeployment]:
    """Every lifecycle deployment, with its schedule where it has one."""
    steps: list[Flow[..., Any]] = [
        intake_flow,
        receive_flow,
        assess_flow,
        assign_flow,
        resolve_flow,
        escalation_flow,
        revisit_flow,
        close_flow,
    ]
    return [
        *(deployment(f, "lifecycle", tags=["lifecycle"], description=f.description) for f in steps),
        deployment(deadline_sweep_flow, "every-5-minutes", interval=DEADLINE_SWEEP_EVERY, tags=["lifecycle", "sweep"]),
        deployment(intake_sweep_flow, "every-10-minutes", interval=INTAKE_SWEEP_EVERY, tags=["lifecycle", "sweep"]),
    ]
