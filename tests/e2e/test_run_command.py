"""The README's run command: starts, prints the Prefect UI address, stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path

import httpx

from tests.e2e.run_support import demo_token, start_run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_starts_prints_the_prefect_ui_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port, web_port = free_port(), free_port()
    run = start_run(tmp_path / "var", web_port=str(web_port), prefect_port=str(port), smtp_port=str(free_port()))
    proc = run.proc
    try:
        _until(lambda: run.printed("Press Ctrl-C to stop.") or proc.poll() is not None, 180, "running")
        output = run.output
        match = re.search(r"Prefect UI:\s+(http://127\.0\.0\.1:\d+)", output)
        assert match, output
        assert match.group(1) == f"http://127.0.0.1:{port}"
        assert "demo data seeded" in output
        assert re.search(r"mail: +smtp://127\.0\.0\.1:\d+ \(caught in ", output), output
        assert httpx.get(match.group(1), timeout=10).status_code == 200
        assert httpx.get(f"{match.group(1)}/api/health", timeout=10).json() is True
        assert f"web app:     http://127.0.0.1:{web_port}/" in output
        assert "web app sign-in passwords in " in output
        home = httpx.get(f"http://127.0.0.1:{web_port}/", timeout=10)  # "running" means it answers now
        assert home.status_code == 200
        assert "我要投訴" in home.text and 'href="/mail"' not in home.text  # caught mail: signed-in staff only
        mail = httpx.get(f"http://127.0.0.1:{web_port}/mail", timeout=10)
        assert mail.status_code == 303 and mail.headers["location"] == "/staff/login?next=%2Fmail"
        printed = len(run.lines)
        proc.send_signal(signal.SIGINT)
        run.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    rest = "".join(run.lines[printed:])
    assert proc.returncode == 0, rest
    assert rest.rstrip().endswith("stopped.")
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "the Prefect server is still listening after Ctrl-C"


def _children(parent: int) -> dict[str, int]:
    """The direct child processes of ``parent`` by what they run (``estatecare web``, ...)."""
    found: dict[str, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent and b"-m" in cmdline:
            args = [a.decode() for a in cmdline[cmdline.index(b"-m") + 1 :] if a]
            found[" ".join(args[:3])] = int(stat.parent.name)
    return found


def _smtp_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            return conn.recv(64).startswith(b"220")
    except OSError:
        return False


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_each_part_killed_in_turn_comes_back_while_the_others_keep_serving(tmp_path: Path) -> None:
    ports = {"prefect": free_port(), "web": free_port(), "smtp": free_port()}
    run = start_run(
        tmp_path / "var",
        prefect_port=str(ports["prefect"]),
        web_port=str(ports["web"]),
        smtp_port=str(ports["smtp"]),
        sweep_every_seconds="2",
        sweep_age_seconds="1",
    )
    proc, lines = run.proc, run.lines
    web = f"http://127.0.0.1:{ports['web']}"
    probes = {
        "the mail catcher": lambda: _smtp_answers(ports["smtp"]),
        "the Prefect server": lambda: _answers(f"http://127.0.0.1:{ports['prefect']}/api/health"),
        "the web app": lambda: _answers(f"{web}/healthz"),
    }
    commands = {
        "the mail catcher": "estatecare mail catch",
        "the Prefect server": "prefect server start",
        "the web app": "estatecare web",
        "the flow server": "estatecare serve-flows",
    }
    try:
        _until(lambda: any("Press Ctrl-C to stop." in line for line in lines), 300, "running")
        for name, command in commands.items():
            pid = _children(proc.pid)[command]
            os.kill(pid, signal.SIGKILL)
            back = f"{name} is back"
            outages: list[str] = []
            until = time.monotonic() + 120
            while not any(back in line for line in lines):
                assert time.monotonic() < until, f"{name} did not come back:\n{''.join(lines)}"
                outages += [other for other, answers in probes.items() if other != name and not answers()]
                time.sleep(0.2)
            assert not outages, f"while {name} was down, these stopped answering: {sorted(set(outages))}"
            assert _children(proc.pid)[command] != pid
        # Afterwards a complaint goes all the way: acknowledged, assessed by the supervisor, assigned.
        complaint = {
            "estate": "CH",
            "building": "1座",
            "unit": "101",
            "content": "天台水缸漏水",
            "contact_email": "after-restarts@example.test",
        }
        reply = httpx.post(f"{web}/api/complaints", json=complaint, timeout=30)
        assert reply.status_code == 201, reply.text
        reference = reply.json()["reference"]
        mail = tmp_path / "var" / "mail"

        def acknowledged() -> bool:
            for path in mail.glob("*.eml"):
                message = message_from_bytes(path.read_bytes(), policy=policy.default)
                if "after-restarts@example.test" in str(message["To"]):
                    body = message.get_body(("plain",))
                    return body is not None and reference in body.get_content()  # type: ignore[attr-defined]
            return False

        _until(acknowledged, 120, f"the acknowledgement of {reference} caught")
        from sqlalchemy import create_engine, text

        engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'estatecare.db'}")

        def status() -> str:
            with engine.connect() as conn:
                query = text("SELECT status FROM complaint WHERE reference = :r")
                return str(conn.execute(query, {"r": reference}).scalar())

        assert status() == "received"  # the keyword rules only suggest: the supervisor assesses
        supervisor = {"Authorization": f"Bearer {demo_token(tmp_path / 'var', 'supervisor-ch')}"}
        suggested = httpx.get(f"{web}/api/complaints/{reference}", headers=supervisor, timeout=30).json()
        assert suggested["suggestion"]["category"] == "facility", suggested
        body = {"valid": True, "category": "facility", "service_area": "repairs"}
        answer = httpx.post(f"{web}/api/complaints/{reference}/assessment", json=body, headers=supervisor, timeout=30)
        assert answer.status_code == 200, answer.text
        _until(lambda: status() == "assigned", 120, f"{reference} assigned after the assessment")
        engine.dispose()
        proc.send_signal(signal.SIGINT)
        proc.wait(90)
    finally:
        if proc.poll() is None:
            proc.kill()
        print("".join(lines))
    assert proc.returncode == 0
    for name in commands:
        assert f"{name} exited (killed by SIGKILL); restarting in 1 s" in "".join(lines)
    assert "never awaited" not in (tmp_path / "var" / "flows.log").read_text(errors="replace")


def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    until = time.monotonic() + timeout
    while not check():
        if time.monotonic() > until:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.5)
