"""Names shown in the monthly report, its email and its spreadsheet, per language, and the
cells every presentation shows for a corrective action.

zh-Hant first (the default), then zh-Hans and English. Stored enum values that have
no name here are shown as they are.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from estatecare.services.monthly_report.schema import CorrectiveAction
from models.enums import Locale

_T = tuple[str, str, str]  # zh-Hant, zh-Hans, en

LABELS: dict[str, _T] = {
    # KPIs (R-KP-2)
    "revisit_handling_rate": ("投訴及調查回訪處理率", "投诉及调查回访处理率", "Revisit handling rate"),
    "repair_satisfaction": ("維修滿意率", "维修满意率", "Repair satisfaction"),
    "on_site_signed_share": ("上門簽名回訪比例（本月）", "上门签名回访比例（本月）", "On-site signed revisits (month)"),
    "on_site_signed_share_ytd": (
        "上門簽名回訪比例（年累計）",
        "上门签名回访比例（年累计）",
        "On-site signed revisits (year to date)",
    ),
    "phone_letter_share": (
        "電話及信函回訪比例（本月）",
        "电话及信函回访比例（本月）",
        "Phone + letter revisits (month)",
    ),
    "phone_letter_share_ytd": (
        "電話及信函回訪比例（年累計）",
        "电话及信函回访比例（年累计）",
        "Phone + letter revisits (year to date)",
    ),
    # rates without a target
    "response_on_time": ("及時響應率", "及时响应率", "First response on time"),
    "resolution_on_time": ("及時處理率", "及时处理率", "Resolved on time"),
    "satisfaction": ("回訪滿意率", "回访满意率", "Revisit satisfaction"),
    "valid_share": ("有效投訴比例", "有效投诉比例", "Valid complaints"),
    # table titles and columns
    "t_overview": ("投訴概況", "投诉概况", "Complaints at a glance"),
    "t_rates": ("及時率與滿意率", "及时率与满意率", "On-time and satisfaction rates"),
    "t_category": ("按投訴性質", "按投诉性质", "By category"),
    "t_service_area": ("按服務範疇", "按服务范畴", "By service area"),
    "t_department": ("按責任部門", "按责任部门", "By department"),
    "t_estate": ("按小區", "按小区", "By estate"),
    "t_revisits": ("回訪統計", "回访统计", "Revisits"),
    "t_escalations": ("升級", "升级", "Escalations"),
    "c_name": ("項目", "项目", "Item"),
    "c_count": ("件數", "件数", "Count"),
    "c_valid": ("有效", "有效", "Valid"),
    "c_rate": ("比率", "比率", "Rate"),
    "c_estate": ("小區", "小区", "Estate"),
    "c_complaints": ("投訴", "投诉", "Complaints"),
    "c_open": ("未結", "未结", "Open"),
    "c_overdue": ("逾期", "逾期", "Overdue"),
    "c_revisits": ("回訪", "回访", "Revisits"),
    "complaints": ("投訴總數", "投诉总数", "Complaints received"),
    "valid": ("有效投訴", "有效投诉", "Valid"),
    "invalid": ("無效投訴", "无效投诉", "Invalid"),
    "unassessed": ("未評估", "未评估", "Not assessed yet"),
    "repeat": ("重複投訴", "重复投诉", "Repeat complaints"),
    "open": ("未結事項（月底）", "未结事项（月底）", "Open at month end"),
    "overdue": ("逾期事項（月底）", "逾期事项（月底）", "Overdue at month end"),
    "escalations": ("升級次數", "升级次数", "Escalations"),
    "revisits_done": ("本月回訪", "本月回访", "Revisits this month"),
    "revisits_reviewed": ("其中主管已審核", "其中主管已审核", "of which reviewed by a supervisor"),
    "on_site_done": ("上門回訪", "上门回访", "On site"),
    "on_site_signed": ("其中簽名", "其中签名", "of which signed"),
    "phone_done": ("電話回訪", "电话回访", "By phone"),
    "letter_done": ("信函回訪", "信函回访", "By letter"),
    "satisfied_full": ("滿意", "满意", "Satisfied"),
    "basically_satisfied": ("基本滿意", "基本满意", "Basically satisfied"),
    "unsatisfied": ("不滿意", "不满意", "Unsatisfied"),
    "revisits_done_ytd": ("年累計回訪", "年累计回访", "Revisits, year to date"),
    "company": ("全公司", "全公司", "Company-wide"),
    "none": ("（未指定）", "（未指定）", "(none)"),
    # late revisit records (R-RV-13) and corrective actions (R-KP-1)
    "t_late_records": (
        "回訪記錄遲錄（應當日或次日完成）",
        "回访记录迟录（应当日或次日完成）",
        "Revisit records completed late (due the same or the next day)",
    ),
    "t_actions": ("整改措施", "整改措施", "Corrective actions"),
    "t_actions_n": ("整改措施（{n}）", "整改措施（{n}）", "Corrective actions ({n})"),
    "late_records": ("遲錄回訪記錄", "迟录回访记录", "Revisit records completed late"),
    "late_record_share": ("回訪記錄遲錄比例", "回访记录迟录比例", "Late revisit records"),
    "corrective_actions": ("整改措施", "整改措施", "Corrective actions"),
    "actions_rectification": ("其中整改結果", "其中整改结果", "of which results marked as rectification"),
    "actions_revisit": ("其中不滿意回訪跟進", "其中不满意回访跟进", "of which unsatisfied revisits followed up"),
    "rectification": ("整改結果", "整改结果", "Rectification"),
    "unsatisfied_revisit": ("不滿意回訪", "不满意回访", "Unsatisfied revisit"),
    "c_kind": ("類型", "类型", "Type"),
    "c_reference": ("編號", "编号", "Reference"),
    "c_category": ("性質", "性质", "Category"),
    "c_department": ("部門", "部门", "Department"),
    "c_text": ("結果／意見", "结果／意见", "Result / remarks"),
    "c_when": ("日期", "日期", "When"),
    "c_follow_up": ("跟進", "跟进", "What followed"),
    "c_late": ("遲錄", "迟录", "Late"),
    "c_share": ("比例 %", "比例 %", "Share %"),
    "c_assignee": ("處理人員", "处理人员", "Handler"),
    "c_next_revisit": ("下次回訪", "下次回访", "Next revisit"),
    "next_revisit": ("下次回訪", "下次回访", "next revisit"),
    "more_actions": ("另有 {n} 項，見完整報告", "另有 {n} 项，见完整报告", "{n} more in the full report"),
    # complaint states (what followed an unsatisfied revisit, R-RV-11)
    "status_received": ("已受理", "已受理", "received"),
    "status_assessed": ("已評估", "已评估", "assessed"),
    "status_invalid": ("無效", "无效", "invalid"),
    "status_assigned": ("處理中", "处理中", "being handled"),
    "status_resolved": ("已處理，待確認", "已处理，待确认", "resolved, awaiting confirmation"),
    "status_revisit_due": ("待回訪", "待回访", "revisit due"),
    "status_reopened": ("已重開", "已重开", "reopened"),
    "status_closed": ("已結案", "已结案", "closed"),
    # work order kinds (a work order's unsatisfied revisit)
    "repair": ("一般維修", "一般维修", "Repair"),
    "urgent_repair": ("緊急維修", "紧急维修", "Urgent repair"),
    "major_repair": ("重大維修", "重大维修", "Major repair"),
    "renovation": ("裝修", "装修", "Renovation"),
    # categories (R-AS-1)
    "facility": ("設施故障", "设施故障", "Facility failure"),
    "service": ("服務質素", "服务质量", "Service quality"),
    "environment": ("環境問題", "环境问题", "Environment"),
    "safety": ("安全問題", "安全问题", "Safety"),
    "other": ("其他", "其他", "Other"),
    # service areas (R-AS-1, seed 001)
    "housing": ("房管", "房管", "Housing management"),
    "security": ("治安", "治安", "Security"),
    "vehicles": ("車輛", "车辆", "Vehicles"),
    "cleaning": ("清潔", "清洁", "Cleaning"),
    "landscaping": ("綠化", "绿化", "Landscaping"),
    "repairs": ("維修", "维修", "Repairs"),
    "community": ("社區活動", "社区活动", "Community activities"),
    "convenience": ("便民服務", "便民服务", "Convenience services"),
    # escalation kinds (R-HD-3)
    "transfer_sheet": ("工作傳簽單", "工作传签单", "Transfer sheet"),
    "major": ("重大投訴", "重大投诉", "Major complaint"),
    "deadline_missed": ("逾期升級", "逾期升级", "Missed deadline"),
    "written": ("書面投訴", "书面投诉", "Written complaint"),
    # the markdown report (the summary flow's artifact, ``estatecare report monthly``)
    "md_title": ("月度統計 {month}", "月度统计 {month}", "Monthly summary {month}"),
    "md_times": ("時間以{zone}計。{as_at}。", "时间以{zone}计。{as_at}。", "Times in {zone}. {as_at}."),
    "c_scope": ("範圍", "范围", "Scope"),
    "c_kpi": ("指標", "指标", "KPI"),
    "c_value": ("數值", "数值", "Value"),
    "c_target": ("目標", "目标", "Target"),
    "c_result": ("結果", "结果", "Result"),
    "kpi_met": ("✔ 達標", "✔ 达标", "✔ met"),
    "kpi_missed": ("✘ **未達標**", "✘ **未达标**", "✘ **MISSED**"),
    "kpi_no_data": ("無數據", "无数据", "no data"),
    "c_invalid": ("無效", "无效", "Invalid"),
    "c_repeat": ("重複", "重复", "Repeat"),
    "c_escalations": ("升級", "升级", "Escalations"),
    "c_response_on_time": ("及時響應", "及时响应", "Response on time"),
    "c_resolution_on_time": ("及時處理", "及时处理", "Resolved on time"),
    "c_late_share": ("遲錄比例", "迟录比例", "Late share"),
    "c_actions": ("整改", "整改", "Actions"),
    "t_actions_count": ("整改措施：{n}", "整改措施：{n}", "Corrective actions: {n}"),
    # the command line's own lines
    "cli_wrote": ("已寫入 {path}", "已写入 {path}", "wrote {path}"),
    "cli_queued": ("已排隊發送 {n} 封電郵", "已排队发送 {n} 封邮件", "{n} email(s) queued"),
    "cli_sent_before": (
        "（之前已發送；如要再發送，請加上 --force）",
        "（之前已发送；如要再发送，请加上 --force）",
        " (sent before; --force to resend)",
    ),
    # ``estatecare sample``: the monthly draw (R-RV-6)
    "sample_draw": (
        "{estate} {month}：{population} 張派工單中抽取 {size} 張（{on_site} 張上門回訪）；"
        "{rule}，隨機種子 {seed}；截至 {cutoff}；回訪須於 {due} 前完成",
        "{estate} {month}：{population} 张派工单中抽取 {size} 张（{on_site} 张上门回访）；"
        "{rule}，随机种子 {seed}；截至 {cutoff}；回访须于 {due} 前完成",
        "{estate} {month}: {size} of {population} orders, {on_site} on site; "
        "{rule}, seed {seed}; cutoff {cutoff}; revisits due before {due}",
    ),
    "sample_drawn_before": ("（此前已抽取）", "（此前已抽取）", " (drawn before)"),
    "rule_tiered": ("分級抽樣", "分级抽样", "tiered rule"),
    "rule_percent": ("按百分比抽樣", "按百分比抽样", "percentage rule"),
    "rule_percent_capped_households": (
        "按百分比抽樣（以住戶數為上限）",
        "按百分比抽样（以住户数为上限）",
        "percentage rule capped by households",
    ),
    "method_on_site": ("上門", "上门", "on site"),
    "method_phone": ("電話", "电话", "by phone"),
    "method_letter": ("信函", "信函", "by letter"),
    "cli_bad_month": (
        "月份格式須為 YYYY-MM（例如 2026-11），而非「{value}」",
        "月份格式须为 YYYY-MM（例如 2026-11），而非“{value}”",
        "month must look like 2026-11 (YYYY-MM), got '{value}'",
    ),
    "cli_no_estate": ("沒有代碼為「{code}」的小區", "没有代码为“{code}”的小区", "no estate with code '{code}'"),
    "cli_draw_order": (
        "月份須依次抽樣：{later}已抽取較後月份的樣本",
        "月份须依次抽样：{later}已抽取较后月份的样本",
        "months are drawn in order: already drawn for a later month: {later}",
    ),
    "cli_later_draw": ("{estate}（{month}）", "{estate}（{month}）", "{estate} ({month})"),
    "list_separator": ("、", "、", ", "),
}

_INDEX = {Locale.ZH_HANT: 0, Locale.ZH_HANS: 1, Locale.EN: 2}


def label(key: str, locale: Locale = Locale.ZH_HANT) -> str:
    """The name of ``key`` in ``locale``; unknown keys are shown as they are."""
    names = LABELS.get(key)
    return names[_INDEX[locale]] if names is not None else key


#: Open and overdue items are counted as at one moment (``MonthlyReport.overdue_as_at``).
AS_AT: dict[str, _T] = {
    "overdue": ("逾期（截至 {t}）", "逾期（截至 {t}）", "Overdue as at {t} ({tz})"),
    "open": ("未結（截至 {t}）", "未结（截至 {t}）", "Open as at {t} ({tz})"),
}


def local_time(at: datetime, timezone: str) -> str:
    """``at`` as ``YYYY-MM-DD HH:MM`` in the company's timezone."""
    return at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def as_at_label(key: str, at: datetime, timezone: str, locale: Locale = Locale.ZH_HANT) -> str:
    """``逾期（截至 2026-12-07 20:00）`` / ``Overdue as at 2026-12-07 20:00 (Asia/Shanghai)``."""
    return AS_AT[key][_INDEX[locale]].format(t=local_time(at, timezone), tz=timezone)


def follow_up(action: CorrectiveAction, timezone: str, locale: Locale = Locale.ZH_HANT) -> str:
    """What followed (R-RV-11): the complaint's state and handler now, the next revisit date."""
    parts = [label(f"status_{action.status}", locale)] if action.status else []
    parts += [action.assignee] if action.assignee else []
    if action.next_revisit_at is not None:
        parts.append(f"{label('next_revisit', locale)} {local_time(action.next_revisit_at, timezone)[:10]}")
    return " · ".join(parts) or "—"


def action_cells(action: CorrectiveAction, timezone: str, locale: Locale = Locale.ZH_HANT) -> list[str]:
    """Type, reference, category, department, result or remarks, when, what followed."""
    return [
        label(action.kind, locale),
        action.reference,
        label(action.category, locale) if action.category else "—",
        action.department_name or label("none", locale),
        action.text or "—",
        local_time(action.at, timezone),
        follow_up(action, timezone, locale),
    ]


#: The column names of :func:`action_cells`.
ACTION_COLUMNS = ("c_kind", "c_reference", "c_category", "c_department", "c_text", "c_when", "c_follow_up")
