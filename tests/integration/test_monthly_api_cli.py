"""The monthly report over the REST API and the command line; the deployments and schedules."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner

from estatecare.cli import app as cli
from models.policy import DEFAULT_POLICY_FILE
from tests.integration.test_monthly import _estate, _hand_data, _orders, local
from tests.lifecycle_support import World


def test_the_api_answers_the_report_model_to_staff_only(client: TestClient, world: World) -> None:
    _hand_data(world.core)
    assert client.get("/api/reports/monthly?month=2026-11").status_code == 401
    r = client.get("/api/reports/monthly?month=2026-11", headers=world.auth("deputy-gm"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["month"] == "2026-11" and body["company"]["counts"]["complaints"] == 6
    assert {e["code"] for e in body["estates"]} == {"CH", "NB"}
    kpi = {k["id"]: k for k in body["estates"][0]["kpis"]}
    assert kpi["phone_letter_share"]["met"] is True and kpi["revisit_handling_rate"]["met"] is False

    # staff of an estate read their own estate only
    own = client.get("/api/reports/monthly?month=2026-11", headers=world.auth("manager"))
    assert own.status_code == 200 and own.json()["company"] is None
    assert [e["code"] for e in own.json()["estates"]] == ["CH"]
    assert client.get("/api/reports/monthly?month=2026-11&estate=NB", headers=world.auth("manager")).status_code == 403
    assert client.get("/api/reports/monthly?month=2026-11&estate=XX", headers=world.auth("gm")).status_code == 404


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "november", ""])
def test_the_api_refuses_a_bad_month_with_422(client: TestClient, world: World, bad: str) -> None:
    r = client.get(f"/api/reports/monthly?month={bad}", headers=world.auth("gm"))
    assert r.status_code == 422, r.text
    assert "YYYY-MM" in json.dumps(r.json()) or "month" in json.dumps(r.json())


def test_the_commands_report_and_sample(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESTATECARE_DATABASE_URL", world.core.settings.db_url)
    monkeypatch.setenv("ESTATECARE_VAR_DIR", str(tmp_path))
    _hand_data(world.core)
    _orders(world.core, _estate(world.core), [local(2026, 11, d, 10) for d in range(1, 8)])
    runner = CliRunner()

    xlsx = tmp_path / "nov.xlsx"
    out = runner.invoke(cli, ["report", "monthly", "--month", "2026-11", "--xlsx", str(xlsx)])
    assert out.exit_code == 0, out.output
    assert "| 翠湖花園 | 維修滿意率 | 66.7% | >= 98.0% | ✘ **未達標** |" in out.output  # the policy's language
    assert "MISSED" not in out.output and "Timezone" not in out.output and "時間以中國時間計" in out.output
    english = runner.invoke(cli, ["report", "monthly", "--month", "2026-11", "--lang", "en"])
    assert "| 翠湖花園 | Repair satisfaction | 66.7% | >= 98.0% | ✘ **MISSED** |" in english.output
    assert "Times in China Time." in english.output and "月度" not in english.output
    hans = runner.invoke(cli, ["report", "monthly", "--month", "2026-11", "--lang", "zh-Hans"])
    assert "| 全公司 | 维修满意率 |" in hans.output and "# 月度统计 2026-11" in hans.output
    policy = tmp_path / "english.toml"  # a company whose language is English: its report by default
    policy.write_text(DEFAULT_POLICY_FILE.read_text(encoding="utf-8").replace('"zh-Hant"', '"en"'), encoding="utf-8")
    monkeypatch.setenv("ESTATECARE_POLICY_FILE", str(policy))
    english = runner.invoke(cli, ["report", "monthly", "--month", "2026-11"])
    assert english.exit_code == 0 and "# Monthly summary 2026-11" in english.output, english.output
    monkeypatch.delenv("ESTATECARE_POLICY_FILE")
    assert load_workbook(xlsx).sheetnames == ["回訪用戶月統計表", "目標達成", "投訴統計", "整改措施"]

    out = runner.invoke(cli, ["report", "monthly", "--month", "2026-11", "--estate", "NB", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["estates"][0]["counts"]["complaints"] == 1

    bad = runner.invoke(cli, ["report", "monthly", "--month", "2026-13"])
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output


def _without(text: str, *names: str) -> str:
    """``text`` without work-order references and the given names (data, not wording)."""
    text = re.sub(r"WO-[\w-]+", "", text)
    for name in names:
        text = text.replace(name, "")
    return text


def test_the_sample_command_speaks_the_companys_language(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``estatecare sample`` (R-RV-6): names, not codes, in the policy's language unless --lang says otherwise."""
    monkeypatch.setenv("ESTATECARE_DATABASE_URL", world.core.settings.db_url)
    monkeypatch.setenv("ESTATECARE_VAR_DIR", str(tmp_path))
    _orders(world.core, _estate(world.core), [local(2026, 11, d, 10) for d in range(1, 8)])
    runner = CliRunner()

    unknown = runner.invoke(cli, ["sample", "--month", "2026-11", "--estate", "XX"])
    assert unknown.exit_code == 2 and unknown.output == "沒有代碼為「XX」的小區\n"
    bad = runner.invoke(cli, ["sample", "--month", "2026-13", "--lang", "zh-Hans"])
    assert bad.exit_code == 2 and bad.output == "月份格式须为 YYYY-MM（例如 2026-11），而非“2026-13”\n"

    first = runner.invoke(cli, ["sample", "--month", "2026-11", "--estate", "CH"])
    assert first.exit_code == 0, first.output
    head, *items = first.output.splitlines()
    assert re.fullmatch(
        r"翠湖花園 2026-11：7 張派工單中抽取 5 張（3 張上門回訪）；分級抽樣，隨機種子 \d+；"
        r"截至 2026-11-30 18:00；回訪須於 2026-12-05 前完成",
        head,
    ), head
    assert len(items) == 5 and all(line.endswith("1座 101  一般維修  上門") for line in items[:3])
    assert all(line.endswith("  一般維修  電話") for line in items[3:])
    assert not re.search(r"[A-Za-z_]", _without(first.output)), first.output  # no code, no English
    assert not re.search(r"\d:\d\d:\d\d", first.output)  # times without seconds

    again = runner.invoke(cli, ["sample", "--month", "2026-11", "--estate", "CH"])
    assert again.output.replace("（此前已抽取）", "") == first.output and "（此前已抽取）" in again.output
    english = runner.invoke(cli, ["sample", "--month", "2026-11", "--estate", "CH", "--lang", "en"])
    assert english.exit_code == 0, english.output
    assert english.output.startswith("翠湖花園 2026-11: 5 of 7 orders, 3 on site; tiered rule, seed ")
    assert "; cutoff 2026-11-30 18:00; revisits due before 2026-12-05 (drawn before)\n" in english.output
    assert english.output.count("  Repair  on site\n") == 3 and english.output.count("  Repair  by phone\n") == 2
    assert not re.search(r"[\u3000-\u9fff\uff00-\uffef]", _without(english.output, "翠湖花園", "1座"))
    hans = runner.invoke(cli, ["sample", "--month", "2026-11", "--estate", "CH", "--lang", "zh-Hans"])
    assert "7 张派工单中抽取 5 张" in hans.output and hans.output.count("一般维修  电话") == 2

    # an earlier month after a later one is refused, naming the estate
    late = runner.invoke(cli, ["sample", "--month", "2026-10", "--estate", "CH"])
    assert late.exit_code == 2 and late.output == "月份須依次抽樣：翠湖花園（2026-11）已抽取較後月份的樣本\n"
    late_en = runner.invoke(cli, ["sample", "--month", "2026-10", "--lang", "en"])
    assert late_en.output == "months are drawn in order: already drawn for a later month: 翠湖花園 (2026-11)\n"

    policy = tmp_path / "english.toml"  # a company whose language is English: English by default
    policy.write_text(DEFAULT_POLICY_FILE.read_text(encoding="utf-8").replace('"zh-Hant"', '"en"'), encoding="utf-8")
    monkeypatch.setenv("ESTATECARE_POLICY_FILE", str(policy))
    default = runner.invoke(cli, ["sample", "--month", "2026-11", "--estate", "CH"])
    assert default.exit_code == 0 and default.output == english.output, default.output
    chinese = runner.invoke(cli, ["sample", "--month", "2026-11", "--estate", "CH", "--lang", "zh-Hant"])
    assert chinese.output == again.output


@pytest.mark.parametrize(
    ("language", "heading"), [("zh-Hant", "# 月度統計 2026-11"), ("en", "# Monthly summary 2026-11")]
)
def test_the_summary_task_writes_its_markdown_in_the_companys_language(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, language: str, heading: str
) -> None:
    """The Prefect artifact of the summary (R-KP-1) follows the policy's default_locale."""
    from estatecare import runtime
    from estatecare.app import App
    from estatecare.settings import Settings
    from tasks import monthly

    _hand_data(world.core)
    policy = tmp_path / "policy.toml"
    policy.write_text(
        DEFAULT_POLICY_FILE.read_text(encoding="utf-8").replace('"zh-Hant"', f'"{language}"'), encoding="utf-8"
    )
    core = App.from_settings(Settings(database_url=world.core.settings.db_url, var_dir=tmp_path, policy_file=policy))
    monkeypatch.setattr(monthly, "get_run_logger", lambda: logging.getLogger("monthly-summary"))
    runtime.use_app(core)
    runtime.use_clock(lambda: datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    try:
        markdown, queued = asyncio.run(monthly.summary.fn("2026-11"))
    finally:
        runtime.use_app(None)
        runtime.use_clock(None)
        core.engine.dispose()
    assert markdown.startswith(heading + "\n") and len(queued) == 2, markdown[:200]


def test_every_monthly_deployment_has_its_schedule_in_the_policy_timezone(world: World) -> None:
    from deployments import all_deployments
    from deployments.monthly import deployables

    made = {d.name + "/" + d.flow_name: d for d in deployables(world.core.policy)}
    sampling, summary = made["monthly-sampling/monthly-sampling"], made["monthly-summary/monthly-summary"]
    (s1,) = sampling.schedules
    (s2,) = summary.schedules
    assert s1.schedule.timezone == "Asia/Shanghai"  # type: ignore[union-attr]
    assert "BYMONTHDAY=28,29,30;BYSETPOS=-1" in s1.schedule.rrule  # type: ignore[union-attr]
    assert s2.schedule.cron == "0 9 1 * *"  # type: ignore[union-attr]
    assert {"monthly-sampling", "monthly-summary"} <= {d.flow_name for d in all_deployments()}
