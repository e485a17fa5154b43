"""Take the operator's guide screenshot of the Prefect UI listing complaint runs.

``.venv/bin/python docs/screenshots/take.py`` starts ``estatecare run`` on embedded
defaults in a throw-away directory and free ports, posts three complaints, confirms the
keyword rules' suggestion for each as the service-centre manager (a person assesses), waits
until each is assigned (its intake runs finished), then photographs the Prefect UI's runs page
with Debian's headless chromium and stops everything. Writes
docs/screenshots/prefect-ui-runs.png.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

OUT = Path(__file__).with_name("prefect-ui-runs.png")
COMPLAINTS = [
    {"estate": "CH", "building": f"{n}座", "unit": unit, "content": text, "contact_phone": f"1390000000{n}"}
    for n, unit, text in [
        (1, "101", "廚房天花板漏水，滴到地上。"),
        (2, "201", "電梯故障，困在三樓十分鐘。"),
        (3, "302", "樓下深夜噪音，影響休息。"),
    ]
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_for(predicate: object, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():  # type: ignore[operator]
                return
        except httpx.HTTPError:
            pass
        time.sleep(1.0)
    raise SystemExit(f"timed out waiting for {what}")


def main() -> None:
    """Run the main job, post complaints, photograph the runs page."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed (Debian package `chromium`)")
    var = Path(tempfile.mkdtemp(prefix="estatecare-shot-"))
    web_port, prefect_port, smtp_port = _free_port(), _free_port(), _free_port()
    env = {
        **os.environ,
        "ESTATECARE_VAR_DIR": str(var),
        "ESTATECARE_WEB_PORT": str(web_port),
        "ESTATECARE_BASE_URL": f"http://127.0.0.1:{web_port}",
        "ESTATECARE_PREFECT_PORT": str(prefect_port),
        "ESTATECARE_SMTP_PORT": str(smtp_port),
    }
    bin_dir = Path(sys.executable).parent
    main_job = subprocess.Popen(  # noqa: S603 (our own console script, fixed arguments)
        [str(bin_dir / "estatecare"), "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert main_job.stdout is not None
        for line in main_job.stdout:
            print(line, end="", flush=True)
            if line.startswith("Press Ctrl-C"):
                break
        api = f"http://127.0.0.1:{web_port}"
        _wait_for(lambda: httpx.get(f"{api}/docs").status_code == 200, "the REST API", 120)
        token = next(
            line.split("\t")[2].strip()
            for line in (var / "demo-tokens-CH.txt").read_text(encoding="utf-8").splitlines()
            if "\tservice_centre_manager\t" in line
        )
        refs = [httpx.post(f"{api}/api/complaints", json=c).raise_for_status().json()["reference"] for c in COMPLAINTS]
        print("posted", ", ".join(refs), flush=True)
        headers = {"Authorization": f"Bearer {token}"}

        def assess(reference: str) -> bool:
            """Confirm the suggestion once the intake run has asked for an assessment."""
            detail = httpx.get(f"{api}/api/complaints/{reference}", headers=headers).json()
            if detail["status"] != "received" or not detail.get("suggestion"):
                return detail["status"] != "received"
            body: dict[str, object] = {f["field"]: f["value"] for f in detail["suggestion"]["fields"] if f["value"]}
            body["valid"] = body.get("valid", "yes") == "yes"
            body.setdefault("category", "other")
            httpx.post(f"{api}/api/complaints/{reference}/assessment", json=body, headers=headers).raise_for_status()
            return True

        for ref in refs:
            _wait_for(lambda ref=ref: assess(ref), f"the assessment task of {ref}", 180)

        def all_assigned() -> bool:
            states = [httpx.get(f"{api}/api/complaints/{r}", headers=headers).json()["status"] for r in refs]
            return all(s == "assigned" for s in states)

        _wait_for(all_assigned, "the complaints to be assigned", 180)
        time.sleep(3.0)  # let the last runs reach Completed in the UI
        subprocess.run(  # noqa: S603 (the installed chromium, fixed arguments)
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--window-size=1440,900",
                "--virtual-time-budget=15000",
                f"--screenshot={OUT}",
                f"http://127.0.0.1:{prefect_port}/runs",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        print(f"wrote {OUT}")
    finally:
        main_job.send_signal(signal.SIGINT)
        try:
            main_job.wait(60)
        except subprocess.TimeoutExpired:
            main_job.kill()
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
