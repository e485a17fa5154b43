"""The staff home (/staff) on real SQLite and PostgreSQL: each role's queues count exactly the
complaints the register shows behind their links, staff of another estate see none of this
estate's, leaders see every estate's figures and its open escalations and major complaints, every
task carries its deadline badge, and the page answers at once with the health of the scheduled
flows "unknown" when no Prefect server does."""

from __future__ import annotations

import asyncio
import html
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from estatecare.demo import seed_demo
from estatecare.health import Health, Part
from estatecare.webapp.accounts import set_password
from estatecare.webapp.home_pages import HealthPanel, flow_health
from estatecare.webapp.i18n import translations
from models import Estate, Staff
from models.enums import Locale
from tests.lifecycle_support import (
    DOMAIN,
    LEAK,
    PASSWORD,
    SIGNATURE_PNG,
    World,
    make_world,
    resolve_and_confirm,
    sign_in,
)

#: Who signs in, by the key the tests use.
PEOPLE = {
    "manager": f"manager-ch@{DOMAIN}",
    "supervisor": f"supervisor-ch@{DOMAIN}",
    "handler": f"engineering-1-ch@{DOMAIN}",
    "reception": f"reception-ch@{DOMAIN}",
    "supervisor-hk": f"supervisor-hk@{DOMAIN}",
    "deputy-gm": f"deputy-gm@{DOMAIN}",
    "gm": f"gm@{DOMAIN}",
}
QUEUE = re.compile(r'<li class="queue queue-(\w+)[^"]*">\s*<a href="([^"]+)"><span class="count">(\d+)</span>')
REGISTER_ROW = re.compile(r'<td data-label="[^"]*"><a href="/staff/complaints/([^"/]+)"><strong>')


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> World:
    """The demo estate CH with one engineering handler, and a second estate HK with its own staff."""
    w = make_world(db_url, tmp_path)
    with w.core.transaction() as s:
        seed_demo(s, w.core.policy, code="HK")
        s.execute(update(Estate).where(Estate.code == "HK").values(name="海景大廈"))
        s.execute(
            update(Staff)
            .where(Staff.email.like("engineering-%-ch@%"), Staff.email != PEOPLE["handler"])
            .values(active=False)
        )
        for email in PEOPLE.values():
            set_password(s, email, PASSWORD)
    return w


@pytest.fixture(autouse=True)
def no_prefect(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Prefect server answers (a closed port), whatever runs on this machine."""
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{_closed_port()}/api")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _submit(client: TestClient, **fields: str) -> str:
    r = client.post("/api/complaints", json={**LEAK, **fields})
    assert r.status_code == 201, r.text
    return str(r.json()["reference"])


def _step(client: TestClient, world: World, ref: str, path: str, who: str, **body: Any) -> None:
    r = client.post(f"/api/complaints/{ref}/{path}", json=body, headers=world.auth(who))
    assert r.status_code == 200, (path, r.text)


def build_scene(client: TestClient, world: World) -> dict[str, str]:
    """Complaints of CH and HK, left where each queue finds them at Wednesday 10:00 (Asia/Shanghai):

    A assigned Monday 09:00, due Wednesday 09:00: overdue; C assigned Monday 20:00, due today 20:00;
    V confirmed, its revisit due Wednesday 21:00; W revisited by the manager and closed, its record
    not reviewed; B assigned Tuesday 09:00 and sent up by its handler (transfer sheet, to the
    property supervisor); D major, assigned to the manager and reported to the deputy GM; R
    received, waiting for its assessment; H received in HK.
    """
    refs: dict[str, str] = {}
    refs["A"] = _submit(client, unit="101")  # Monday 09:00
    world.intake(refs["A"])
    world.clock.advance(hours=11)  # Monday 20:00
    refs["C"] = _submit(client, unit="102")
    world.intake(refs["C"])
    world.clock.advance(hours=1)  # Monday 21:00
    for key, unit in (("V", "201"), ("W", "202")):
        refs[key] = _submit(client, unit=unit)
        world.intake(refs[key])
        resolve_and_confirm(client, world, refs[key])
    revisit = {"method": "on_site", "quality": "好", "satisfaction": "satisfied", "signature_png_base64": SIGNATURE_PNG}
    _step(client, world, refs["W"], "revisits", "manager", **revisit)
    assert world.after_revisit(refs["W"]) == "closed"
    world.clock.advance(hours=12)  # Tuesday 09:00
    refs["B"] = _submit(client, unit="301")
    world.intake(refs["B"])
    _step(client, world, refs["B"], "escalation", "engineering-1", reason="需要保安部協助")
    refs["D"] = _submit(client, unit="302")
    world.intake(refs["D"], severity="major")
    world.clock.advance(hours=25)  # Wednesday 10:00
    refs["R"] = _submit(client, unit="401")
    world.run_intake(refs["R"])
    refs["H"] = _submit(client, estate="HK")
    world.run_intake(refs["H"])
    states = {key: world.complaint(ref).status for key, ref in refs.items()}
    assert states == {
        "A": "assigned",
        "C": "assigned",
        "V": "revisit_due",
        "W": "closed",
        "B": "assigned",
        "D": "assigned",
        "R": "received",
        "H": "received",
    }
    return refs


@pytest.fixture
def scene(client: TestClient, world: World) -> dict[str, str]:
    return build_scene(client, world)


def as_person(client: TestClient, who: str) -> TestClient:
    client.cookies.clear()
    sign_in(client, PEOPLE[who])
    return client


def queues(page: str) -> dict[str, tuple[int, str]]:
    """The home's queues: name -> (count, link)."""
    return {name: (int(count), html.unescape(href)) for name, href, count in QUEUE.findall(page)}


def register_refs(client: TestClient, link: str) -> list[str]:
    """The references the register lists behind ``link``, in its order."""
    r = client.get(link)
    assert r.status_code == 200, r.text[:300]
    return REGISTER_ROW.findall(r.text)


def keys(refs: dict[str, str], found: list[str]) -> set[str]:
    by_ref = {ref: key for key, ref in refs.items()}
    return {by_ref.get(ref, ref) for ref in found}


#: What each queue holds for each person (by the scene's keys).
EXPECTED = {
    "manager": {
        "mine": {"D"},
        "assess": {"R"},
        "due_today": {"C"},
        "overdue": {"A"},
        "escalated": {"B"},  # D went to the deputy GM, above the manager
        "revisits": {"V"},
        "review": set(),  # W's record is the manager's own: another supervisor reviews it (R-RV-9)
    },
    "supervisor": {
        "mine": set(),
        "assess": {"R"},
        "due_today": {"C"},
        "overdue": {"A"},
        "escalated": {"B"},
        "revisits": {"V"},
        "review": {"W"},
    },
    "handler": {"mine": {"A", "B", "C", "V"}, "due_today": {"C"}, "overdue": {"A"}},
    "reception": {"due_today": {"C"}, "overdue": {"A"}, "revisits": {"V"}},
    "supervisor-hk": {
        "mine": set(),
        "assess": {"H"},
        "due_today": set(),
        "overdue": set(),
        "escalated": set(),
        "revisits": set(),
        "review": set(),
    },
    "deputy-gm": {"escalated": {"B", "D"}},
    "gm": {"escalated": {"B", "D"}},
}


@pytest.mark.parametrize("who", list(EXPECTED))
def test_each_queue_counts_the_complaints_its_link_opens_in_the_register(
    client: TestClient, scene: dict[str, str], who: str
) -> None:
    page = as_person(client, who).get("/staff")
    assert page.status_code == 200
    found = queues(page.text)
    assert list(found) == list(EXPECTED[who]), "the role's queues, in order"
    for name, (count, link) in found.items():
        listed = register_refs(client, link)
        assert keys(scene, listed) == EXPECTED[who][name], (who, name, link)
        assert count == len(listed), (who, name)


def test_staff_of_another_estate_see_nothing_of_this_one(client: TestClient, scene: dict[str, str]) -> None:
    page = as_person(client, "supervisor-hk").get("/staff").text
    assert not [key for key, ref in scene.items() if key != "H" and ref in page]
    # asked for this estate's complaints by name, the register still shows only their own
    for queue in ("open", "overdue", "escalations", "major", "attention"):
        assert keys(scene, register_refs(client, f"/staff/register?queue={queue}&estate=CH")) == set()
    assert keys(scene, register_refs(client, "/staff/register?queue=open")) == {"H"}


@pytest.mark.parametrize("who", ["gm", "deputy-gm"])
def test_leaders_see_each_estates_figures_and_the_open_escalations_and_major_complaints(
    client: TestClient, scene: dict[str, str], who: str
) -> None:
    page = as_person(client, who).get("/staff?lang=zh-Hant").text
    table = page.split('class="stack estates-table"', 1)[1].split("</table>", 1)[0]
    rows = {
        name: dict(zip(("open", "overdue", "escalations", "major"), cells, strict=True))
        for name, cells in (
            (
                row.split("</th>", 1)[0].rsplit(">", 1)[1],
                re.findall(r'<a href="([^"]+)" class="count-link">(\d+)</a>', row),
            )
            for row in table.split("<tr>")[2:]
        )
    }
    expected = {
        "翠湖花園": {
            "open": {"A", "B", "C", "D", "R", "V"},
            "overdue": {"A"},
            "escalations": {"B", "D"},
            "major": {"D"},
        },
        "海景大廈": {"open": {"H"}, "overdue": set(), "escalations": set(), "major": set()},
    }
    assert set(rows) == set(expected)
    for estate, columns in rows.items():
        for column, (link, count) in columns.items():
            listed = register_refs(client, html.unescape(link))
            assert keys(scene, listed) == expected[estate][column], (estate, column)
            assert int(count) == len(listed)
    attention = page.split('class="stack attention-table"', 1)[1].split("</table>", 1)[0]
    assert [k for ref in REGISTER_ROW.findall(attention) for k in keys(scene, [ref])] == ["B", "D"]  # soonest first
    _ = translations(Locale.ZH_HANT).gettext
    assert f"{_('Transfer sheet')} → {_('Property supervisor')}" in attention
    assert f"{_('Major complaint')} → {_('Deputy general manager')}" in attention
    assert "工程部師傅甲" in attention and "@" not in attention  # handlers by name
    link = html.unescape(re.findall(r'<a href="(/staff/register\?queue=attention[^"]*)">', page)[0])
    assert keys(scene, register_refs(client, link)) == {"B", "D"}


def test_estate_staff_see_no_estate_figures_and_the_handler_no_health_panel(
    client: TestClient, scene: dict[str, str]
) -> None:
    page = as_person(client, "handler").get("/staff").text
    assert "estates-table" not in page and "attention-table" not in page and 'id="health-title"' not in page
    manager = as_person(client, "manager").get("/staff").text
    assert "estates-table" not in manager and 'id="health-title"' in manager


def test_every_task_carries_its_deadline_badge_in_the_readers_language(
    client: TestClient, scene: dict[str, str]
) -> None:
    def badges(page: str) -> dict[str, str]:
        tasks = page.split('<ul class="tasks">', 1)[1].split("</ul>", 1)[0]
        rows = {
            ref: row for row in tasks.split("<li")[1:] for ref in re.findall(r'<span class="ref">([^<]+)</span>', row)
        }
        return {
            ref: " ".join(re.findall(r'<span class="due-badge[^"]*">[^<]*</span>', row)) for ref, row in rows.items()
        }

    as_person(client, "handler")
    handler = badges(client.get("/staff?lang=zh-Hant").text)
    assert handler == {
        scene["A"]: '<span class="due-badge late">逾期 1 小時</span>',
        scene["C"]: '<span class="due-badge soon">還有 10 小時</span>',
        scene["B"]: '<span class="due-badge soon">還有 23 小時</span>',
    }
    english = badges(client.get("/staff?lang=en").text)
    assert [english[scene[k]].split(">")[1].split("<")[0] for k in "ACB"] == [
        "Overdue by 1 hour",
        "Due in 10 hours",
        "Due in 23 hours",
    ]
    assert "还有 10小时" in badges(client.get("/staff?lang=zh-Hans").text)[scene["C"]]
    as_person(client, "manager")
    manager = badges(client.get("/staff?lang=zh-Hant").text)
    assert manager[scene["D"]] == '<span class="due-badge">剩 3 天 23 小時</span>'  # major: 5 days from Tuesday
    assert "3 days 23 hours left" in badges(client.get("/staff?lang=en").text)[scene["D"]]
    assert all(manager.values()), "every task of the manager has a deadline badge"


# --------------------------------------------------------------------------- the health panel


@dataclass
class _Hanging:
    """A port that takes connections and never answers: a Prefect server that hangs."""

    sock: socket.socket

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/api"


@pytest.fixture
def hanging() -> Iterator[_Hanging]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield _Hanging(s)


def test_the_home_answers_at_once_and_says_unknown_when_prefect_does_not_answer(
    client: TestClient, scene: dict[str, str], hanging: _Hanging, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", hanging.url)
    as_person(client, "gm")
    started = time.monotonic()
    page = client.get("/staff?lang=en")
    assert time.monotonic() - started < 4  # the check's own timeouts are 5 s
    assert page.status_code == 200 and "health-unknown" in page.text
    assert "<strong>Unknown</strong> · the flow scheduler does not answer." in page.text
    assert scene["B"] in page.text  # the rest of the page is there
    assert (
        "<strong>未知</strong> · 排程伺服器沒有回應。" in as_person(client, "manager").get("/staff?lang=zh-Hant").text
    )


def test_with_the_prefect_api_down_the_panel_says_unknown(client: TestClient, world: World) -> None:
    page = as_person(client, "manager").get("/staff?lang=en").text  # ``no_prefect``: a closed port
    assert "health-unknown" in page and "the flow scheduler does not answer" in page


def test_the_health_report_is_kept_a_minute_and_a_slow_check_never_holds_the_page() -> None:
    calls: list[float] = []

    async def probe() -> Health:
        calls.append(time.monotonic())
        await asyncio.sleep(0.2)
        return Health(datetime.now(UTC), [Part("Prefect API", True, "")], [])

    async def scenario() -> tuple[Health | None, Health | None, Health | None]:
        panel = HealthPanel(probe, ttl=60, wait=0.05)
        first = await panel.get()  # still running: nothing to show yet
        await asyncio.sleep(0.3)
        second = await panel.get()  # answered meanwhile, and kept
        third = await panel.get()
        return first, second, third

    first, second, third = asyncio.run(scenario())
    assert first is None and flow_health(first).state == "unknown"
    assert second is not None and second is third and flow_health(second).state == "ok"
    assert len(calls) == 1
