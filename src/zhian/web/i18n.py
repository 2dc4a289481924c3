"""The pages' translation table: Simplified Chinese by default, English on request."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Final

from zhian.access.roles import ROLE_NAMES_EN, ROLE_NAMES_ZH, Role

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

# One row per text: key -> (Chinese, English). Kept as pairs so a missing translation
# cannot happen; `TEXT` below is the per-language view the templates read as `t.<key>`.
_PAIRS: dict[str, tuple[str, str]] = {
    # shell
    "app": ("治安", "Zhian"),
    "nav_workbench": ("工作台", "Workbench"),
    "nav_alerts": ("预警", "Alerts"),
    "nav_devices": ("设备", "Devices"),
    "nav_kpis": ("考核指标", "KPIs"),
    "nav_status": ("运行状态", "Status"),
    "lang_switch": ("English", "中文"),
    "logout": ("退出", "Log out"),
    "menu": ("菜单", "Menu"),
    "live_on": ("实时", "Live"),
    "live_off": ("连接中断", "Offline"),
    "live_connecting": ("连接中", "Connecting"),
    "replay_banner": (
        "演示数据回放中：已回放到 {reached}（{percent}%，共 {days} 天历史）。"
        "预警与统计随回放逐步出现，刷新页面即可看到最新内容。",
        "The demo is replaying its history: up to {reached} ({percent}% of {days} days). "
        "Alerts and figures appear as it goes; reload a page to see the latest.",
    ),
    "replay_failed": (
        "演示数据回放失败（{what}），页面只有回放到 {reached} 为止的数据。"
        "请查看运行 zhian demo 的终端中的错误日志，按 Ctrl+C 停止后重新运行 zhian demo。",
        "The demo's replay of its history failed ({what}); the pages hold only what it "
        "replayed up to {reached}. See the error log in the terminal running zhian demo, "
        "stop it with Ctrl+C and run zhian demo again.",
    ),
    "sound": ("声音提醒", "Sound"),
    "new_alert": ("新预警", "New alert"),
    "overdue": ("已超时", "overdue"),
    "none": ("无", "none"),
    "open": ("打开", "Open"),
    "error": ("操作未完成", "Not done"),
    "back": ("返回", "Back"),
    "all": ("全部", "All"),
    "minutes_short": ("分", "min"),
    # workbench
    "workbench_title": ("民警工作台", "Officer workbench"),
    "my_todos": ("我的待办", "My to-dos"),
    "todo_empty": ("暂无待办", "Nothing to do"),
    "todos_more": (
        "另有 {n} 项待办未列出（按截止时间排序，最紧急的在前）",
        "{n} more not listed (the most urgent come first)",
    ),
    "todos_show_all": ("全部列出", "List them all"),
    "to_sign": ("待签收", "To sign"),
    "to_handle": ("待处置", "To handle"),
    "next_action": ("下一步", "Next step"),
    "due": ("剩余时间", "Time left"),
    "new_today": ("今日新增", "New today"),
    "open_now": ("未结项", "Open now"),
    "breached_open": ("超时未结", "Open past deadline"),
    "last_week": ("近七日处置情况", "Last 7 days"),
    "handled": ("已处置", "Handled"),
    "false_alarms": ("误报", "False alarms"),
    # alert wall
    "wall_title": ("预警墙", "Alert wall"),
    "tier": ("等级", "Tier"),
    "state": ("状态", "State"),
    "kind": ("类型", "Kind"),
    "place": ("地点", "Place"),
    "since": ("起始时间", "From"),
    "until": ("截止时间", "To"),
    "filter": ("筛选", "Filter"),
    "reset": ("重置", "Reset"),
    "open_only": ("仅未结项", "Open only"),
    "show": ("显示", "Show"),
    "open_and_closed": ("全部（含已结项）", "Open and closed"),
    "closed_only": ("仅已结项", "Closed only"),
    "created_at": ("发生时间", "Raised"),
    "title": ("内容", "What"),
    "count": ("次数", "Count"),
    "total": ("共", "Total"),
    "no_alerts": ("没有符合条件的预警", "No alerts match"),
    "page_prev": ("上一页", "Previous"),
    "page_next": ("下一页", "Next"),
    "breached": ("已超时", "Past deadline"),
    "escalated_to": ("已上报至", "Escalated to"),
    # alert detail
    "detail_title": ("预警详情", "Alert"),
    "why": ("预警原因", "Why"),
    "evidence": ("证据", "Evidence"),
    "events": ("相关事件", "Events"),
    "images": ("图片", "Images"),
    "figures": ("数据", "Figures"),
    "open_parameters": ("查看和调整本社区模型参数", "See and tune this community's parameters"),
    "candidates": ("比对候选", "Candidates"),
    "score": ("相似度", "Score"),
    "timeline": ("处置记录", "Timeline"),
    "deadlines": ("时限", "Deadlines"),
    "milestone": ("环节", "Step"),
    "due_at": ("截止", "Due"),
    "met_at": ("完成", "Met"),
    "procedure": ("处置预案", "Procedure"),
    "step_pending": ("待完成", "pending"),
    "step_ticked": ("已完成", "done"),
    "step_skipped": ("已跳过", "skipped"),
    "tick": ("完成", "Done"),
    "skip": ("跳过", "Skip"),
    "skip_reason": ("跳过原因(将通知上级)", "Reason for skipping (the supervisor is told)"),
    "actions": ("操作", "Actions"),
    "no_actions": ("当前状态下无可用操作", "No action in this state"),
    "not_your_role": ("此预警由{role}处置", "This alert is for: {role}"),
    "note": ("备注", "Note"),
    "feedback": ("处置反馈", "Feedback"),
    "attachments": ("照片/附件", "Photos"),
    "outcome": ("结项结果", "Outcome"),
    "choose_outcome": ("请选择结项结果", "Choose an outcome"),
    "who": ("操作人", "By"),
    "when": ("时间", "When"),
    "where": ("来源地址", "From"),
    "action": ("动作", "Action"),
    "device": ("设备", "Device"),
    "type": ("类型", "Type"),
    "time": ("时间", "Time"),
    "system": ("系统", "System"),
    "incident": ("合并事件", "Incident"),
    "owner": ("责任", "Owner"),
    # alert detail: a watchlist plate, masked, revealed with a stated purpose
    "plate": ("布控车牌", "Watchlisted plate"),
    "plate_note": (
        "车牌默认脱敏显示；查看原文须填写案件编号或用途说明，留痕审计。",
        "The plate is masked; seeing it in the clear needs a case number or a reason (audited).",
    ),
    "plate_case_number": ("案件编号", "Case number"),
    "plate_reason": ("用途说明", "Reason"),
    "plate_basis_reason": ("布控依据 {ref}", "Watchlist legal basis {ref}"),
    "plate_reveal": ("查看车牌原文", "Reveal the plate"),
    "plate_revealed": ("车牌原文（已审计）", "Plate in the clear (audited)"),
    "plate_no_token": (
        "此预警早于车牌令牌化，仅保留脱敏车牌，无法查看原文。",
        "This alert predates plate tokens: only the masked plate was kept.",
    ),
    # devices
    "devices_title": ("设备状态", "Devices"),
    "community": ("社区", "Community"),
    "devices_total": ("设备数", "Devices"),
    "online": ("在线", "Online"),
    "offline": ("离线", "Offline"),
    "online_rate": ("在线率", "Online rate"),
    "online_trend": ("在线率趋势(24小时)", "Online rate, last 24 h"),
    "open_faults": ("未恢复的设备故障", "Open device faults"),
    "no_faults": ("没有未恢复的故障", "No open faults"),
    "last_seen": ("最后上报", "Last seen"),
    "never": ("从未上报", "never"),
    "goal": ("目标", "goal"),
    "device_list": ("设备清单", "Device list"),
    "device_id": ("设备编号", "Device ID"),
    "device_name": ("名称", "Name"),
    "protocol": ("接入协议", "Protocol"),
    "protocol_seen": ("24小时内有数据", "sent data in the last 24 h"),
    "protocol_credential_only": ("仅有凭据，24小时内无数据", "credential only, no data in 24 h"),
    "not_connected": ("未接入", "not connected"),
    "viid_session": ("视图库会话", "GA/T 1400 session"),
    "session_live": ("在线", "live"),
    "session_none": ("无会话", "none"),
    "registered_at": ("注册时间", "Registered"),
    "last_call": ("最近调用", "Last call"),
    "remote": ("来源地址", "From"),
    "credentials": ("凭据", "Credentials"),
    "native_token": ("接入令牌", "Intake token"),
    "token_issued": ("已签发", "issued"),
    "token_none": ("未签发", "none"),
    "issue_token": ("签发令牌", "Issue token"),
    "rotate_token": ("轮换令牌(旧令牌立即失效)", "Rotate token (the old one stops working)"),
    "token_once": (
        "请立即复制：此令牌只显示这一次，系统只保存其摘要。",
        "Copy it now: the token is shown this once; only its hash is kept.",
    ),
    "viid_credential": ("视图库 Digest 凭据", "GA/T 1400 Digest credential"),
    "viid_username": ("用户名", "Username"),
    "viid_password": ("密码(留空则自动生成)", "Password (blank: generate one)"),
    "set_viid_password": ("设置视图库密码", "Set GA/T 1400 password"),
    "viid_password_once": (
        "请立即复制：此密码只显示这一次，系统只保存其 HA1 摘要。",
        "Copy it now: the password is shown this once; only its HA1 digest is kept.",
    ),
    "viid_not_applicable": (
        "视图库设备编号须为20位数字",
        "A GA/T 1400 device needs a 20-digit ID",
    ),
    "rejected_input": ("最近被拒收的数据", "Recent rejected input"),
    "no_rejected": ("没有被拒收的数据", "No rejected input"),
    "reasons": ("原因", "Reasons"),
    "source": ("来源", "Source"),
    "status": ("状态", "Status"),
    "register_device": ("登记设备", "Register a device"),
    "register": ("登记", "Register"),
    "latitude": ("纬度", "Latitude"),
    "longitude": ("经度", "Longitude"),
    "gateway": ("所属网关", "Gateway"),
    "enabled": ("启用", "enabled"),
    "disabled": ("停用", "disabled"),
    "registered_ok": ("设备已登记", "Device registered"),
    "password_set": ("视图库密码已设置", "GA/T 1400 password set"),
    "assignee": ("处置人", "Assignee"),
    "assignee_any": ("本人处置", "Myself"),
    "alert_changed": ("此预警刚有新的处置。", "This alert has just changed."),
    "reload": ("刷新", "Reload"),
    # the parent pages' section on child nodes (zhian.web.child_rollup)
    "child_rollup": ("下级汇总", "Child nodes roll-up"),
    "child_level": ("汇总层级", "Level"),
    "child_nodes": ("下级平台", "Child nodes"),
    "child_online_rate": ("设备在线率", "Online rate"),
    "child_open_alerts": ("未结预警", "Open alerts"),
    "child_overdue": ("超时预警", "Overdue"),
    "child_reporting_rate": ("数据上报率(近1小时)", "Data reporting rate (last hour)"),
    "child_more": ("另有 {n} 个辖区未列出", "{n} more jurisdictions not listed"),
    "child_links": ("级联链路", "Links"),
    "child_node": ("节点", "Node"),
    "child_last_contact": ("最近联络", "Last contact"),
    "child_events_accepted": ("已接收事件", "Events accepted"),
    "child_events_held": ("隔离事件", "Events held"),
    "child_overrides": ("未采用的下发参数或预案", "Presets or procedures overridden"),
    "child_alerts": ("下级平台未结预警", "Child nodes' open alerts"),
    "child_alerts_note": (
        "由下级平台处置；此处显示其上报的最新状态（证据与对象留在下级平台）。",
        "Handled at the child node; shown as its latest reported state (evidence and "
        "subjects stay at the child).",
    ),
    "child_alert_since": ("状态时间", "Since"),
    "child_reporting_by_summary": ("(含下级上报的上一小时)", "(partly the child's last hour)"),
    "child_cache": ("缓存积压", "Cache depth"),
    "child_cache_records": ("{n} 条记录", "{n} records"),
    "child_cache_alarm": ("缓存告警", "cache alarm"),
    "child_backfill": ("补传进度", "Back-fill"),
    "child_backfill_left": ("剩余 {n} 条", "{n} left"),
    "child_backfill_done": ("无补传", "none running"),
    # KPIs
    "kpis_title": ("考核指标", "KPIs"),
    "jurisdiction": ("辖区", "Jurisdiction"),
    "period_days": ("统计天数", "Days"),
    "alerts_by_tier": ("各等级预警数", "Alerts by tier"),
    "median_sign": ("签收用时中位数", "Median time to sign"),
    "median_close": ("结项用时中位数", "Median time to close"),
    "compliance": ("时限达标率", "Deadline compliance"),
    "false_alarm_rate": ("误报率(按规则)", "False-alarm rate per rule"),
    "rule": ("规则", "Rule"),
    "rate": ("比率", "Rate"),
    "device_online_rate": ("设备在线率", "Device online rate"),
    "online_rate_last_hour": ("近1小时设备在线率", "Device online rate, last hour"),
    "no_data": ("暂无数据", "no data"),
    "period": ("统计区间", "Period"),
}

TEXT: dict[str, dict[str, str]] = {
    "zh": {key: pair[0] for key, pair in _PAIRS.items()},
    "en": {key: pair[1] for key, pair in _PAIRS.items()},
}


def add_texts(pairs: Mapping[str, tuple[str, str]]) -> None:
    """A page module's own strings, key -> (Chinese, English), added to the catalogue; a key
    the catalogue already holds keeps its text (the first module to name it wins)."""
    for key, (zh, en) in pairs.items():
        TEXT["zh"].setdefault(key, zh)
        TEXT["en"].setdefault(key, en)


# Display names of the values pages show, per group: value -> (Chinese, English).
_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "jurisdiction_level": {
        "province": ("省", "Province"),
        "city": ("市", "City"),
        "district": ("分局/区", "District"),
        "station": ("派出所", "Station"),
        "community": ("社区", "Community"),
    },
    "tier": {
        "minor": ("一般", "Minor"),
        "general": ("较大", "General"),
        "major": ("重大", "Major"),
    },
    "state": {
        "new": ("待签收", "New"),
        "signed": ("已签收", "Signed"),
        "dispatched": ("已派警", "Dispatched"),
        "on_site": ("已到场", "On site"),
        "handled": ("已处置", "Handled"),
        "closed": ("已结项", "Closed"),
    },
    "outcome": {
        "resolved": ("已解决", "Resolved"),
        "false_alarm": ("误报", "False alarm"),
        "duplicate": ("重复", "Duplicate"),
    },
    "action": {
        "sign": ("签收", "Sign"),
        "dispatch": ("派警", "Dispatch"),
        "arrive": ("到场", "Arrive"),
        "handle": ("处置反馈", "Handle"),
        "close": ("结项", "Close"),
        "tick_step": ("预案步骤", "Procedure step"),
        "created": ("产生预警", "Raised"),
        "warned": ("即将超时", "Deadline warning"),
        "breached": ("超时", "Deadline missed"),
        "escalated": ("升级上报", "Escalated"),
        "cleared": ("自动解除", "Cleared"),
    },
    "milestone": {
        "sign": ("签收", "Sign"),
        "on_site": ("到场", "On site"),
        "feedback": ("反馈", "Feedback"),
        "response": ("响应", "Response"),
    },
    "kind": {
        "device_offline": ("设备离线", "Device offline"),
        "device_fault": ("设备故障", "Device fault"),
        "alarm_smoke": ("烟感报警", "Smoke alarm"),
        "alarm_fire": ("火警", "Fire alarm"),
        "alarm_gas": ("燃气报警", "Gas alarm"),
        "alarm_intrusion": ("入侵报警", "Intrusion alarm"),
        "alarm_perimeter": ("周界报警", "Perimeter alarm"),
        "alarm_sos": ("一键求助", "SOS"),
        "alarm_tamper": ("防拆报警", "Tamper alarm"),
        "alarm_water_leak": ("漏水报警", "Water leak"),
        "alarm_door_forced": ("门被强行打开", "Door forced open"),
        "alarm_door_held_open": ("门长时间未关", "Door held open"),
        "alarm_other": ("其他报警", "Other alarm"),
        "watchlist_plate": ("布控车辆", "Watchlist plate"),
        "watchlist_person": ("布控人员", "Watchlist person"),
        "denied_access": ("多次刷卡失败", "Repeated denied access"),
        "tailgating": ("尾随/强行进入", "Tailgating"),
        "crowd_overload": ("人员聚集超载", "Crowd overload"),
        "patrol_hazard": ("巡逻上报·安全隐患", "Patrol report: hazard"),
        "patrol_facility": ("巡逻上报·设施损坏", "Patrol report: damaged facility"),
        "patrol_public_order": ("巡逻上报·治安问题", "Patrol report: public order"),
        "patrol_fire": ("巡逻上报·消防隐患", "Patrol report: fire hazard"),
        "patrol_other": ("巡逻上报·其他", "Patrol report: other"),
    },
    "figure": {
        "level": ("级别", "Level"),
        "alarm_kind": ("报警类型", "Alarm kind"),
        "silent_minutes": ("静默分钟", "Silent minutes"),
        "denied": ("拒绝次数", "Denied"),
        "window_minutes": ("时间窗(分)", "Window (min)"),
        "plate_masked": ("车牌(脱敏)", "Plate (masked)"),
        "legal_basis_ref": ("布控依据编号", "Legal basis ref"),
        "similarity": ("相似度", "Similarity"),
    },
    "rule": {
        "alarm": ("设备报警", "Alarms"),
        "denied_access": ("多次刷卡失败", "Repeated denied access"),
        "tailgating": ("尾随/强行进入", "Tailgating"),
        "crowd": ("人员聚集", "Crowding"),
        "device_offline": ("设备离线", "Device offline"),
        "device_fault": ("设备故障", "Device fault"),
        "counting_line_silent": ("计数线计数为零", "Counting line counts nobody"),
        "watchlist": ("布控比中", "Watchlist hits"),
    },
    "protocol": {
        "native": ("原生接口", "Native API"),
        "gat1400": ("GA/T 1400 视图库", "GA/T 1400"),
        "mqtt": ("MQTT", "MQTT"),
        "ferry": ("摆渡包", "Ferry package"),
        "file": ("文件导入", "File import"),
        "sim": ("模拟数据", "Simulator"),
        "replay": ("隔离重放", "Quarantine replay"),
    },
    "event_type": {
        "access": ("门禁通行", "Access passage"),
        "vehicle": ("过车", "Vehicle passage"),
        "face": ("人脸抓拍", "Face capture"),
        "alarm": ("报警", "Alarm"),
        "heartbeat": ("心跳/故障", "Heartbeat"),
        "crowd": ("人流计数", "Crowd count"),
        "patrol": ("巡逻上报", "Patrol report"),
        "tip": ("随手拍", "Resident tip"),
    },
    "actor_type": {
        "user": ("用户", "User"),
        "device": ("设备", "Device"),
        "system": ("系统", "System"),
        "token": ("接口令牌", "API token"),
    },
    "audit_action": {
        "alert.created": ("产生预警", "Alert raised"),
        "alert.updated": ("预警处置", "Alert handled"),
        "incident.call_import": ("导入110警情", "Emergency calls imported"),
        "alert.reveal_plate": ("查看预警车牌原文", "Alert plate revealed"),
        "alert_image.read": ("查看预警图片", "Alert image read"),
        "audit.export": ("导出审计日志", "Audit log exported"),
        "events.read_unmasked": ("查看事件原文", "Events read unmasked"),
        "incident.updated": ("合并事件更新", "Incident updated"),
        "keys.rotate": ("轮换密钥", "Keys rotated"),
        "masterdata.import": ("导入基础数据", "Master data imported"),
        "personal_data.reveal": ("查看个人信息原文", "Personal data revealed"),
        "quarantine.replay": ("重放隔离数据", "Quarantine replayed"),
        "quarantine.reveal": ("查看隔离原始数据明文", "Quarantine raw input revealed"),
        "resident.reveal": ("查看居民信息原文", "Resident field revealed"),
        "watchlist.create": ("新增布控", "Watchlist entry added"),
        "watchlist.import": ("批量导入布控", "Watchlist imported"),
        "watchlist.withdraw": ("撤销布控", "Watchlist entry withdrawn"),
        "watchlist.list": ("查看布控列表", "Watchlist read"),
        "watchlist.bulk_withdraw": ("批量撤销布控", "Watchlist entries withdrawn"),
        "alert.breached": ("预警超时", "Alert deadline missed"),
        "alert.transition": ("预警状态变更", "Alert state changed"),
        "alert.warning": ("预警即将超时", "Alert deadline warning"),
        "alert.dispatched": ("预警派发给本人（推送）", "Alert dispatched to you (push)"),
        "alert.escalated": ("预警超时升级（推送）", "Alert escalated (push)"),
        "tip.photo_view": ("查看随手拍照片", "Tip photo viewed"),
        "tip.view": ("查看随手拍内容", "Tips read"),
        "case_study.create": ("撰写案例", "Case library entry written"),
        "case_study.update": ("修改案例", "Case library entry changed"),
        "patrol.checkin": ("巡逻打卡", "Patrol check-in"),
        "patrol.report": ("巡逻上报", "Patrol report"),
        "patrol.checkins_view": ("查看巡逻打卡记录", "Patrol check-ins viewed"),
        "audit.search": ("查询审计日志", "Audit log searched"),
        "assessment.indicator_update": ("修改考核指标", "Assessment indicator changed"),
        "audit.purge": ("清理到期审计日志", "Audit log purged"),
        "device.register": ("登记设备", "Device registered"),
        "device.token_issue": ("签发设备令牌", "Device token issued"),
        "device.viid_password_set": ("设置视图库密码", "GA/T 1400 password set"),
        "device.disable": ("停用设备", "Device disabled"),
        "device.enable": ("启用设备", "Device enabled"),
        "legal_hold.place": ("设置法律保全", "Legal hold placed"),
        "legal_hold.release": ("解除法律保全", "Legal hold released"),
        "resident.view": ("查看居民", "Resident viewed"),
        "search.person": ("综合查询人员", "People looked up in search"),
        "passages.subject_search": ("按车牌或人员查询通行记录", "Passages searched by subject"),
        "passages.export": ("导出通行记录", "Passage records exported"),
        "stats.visiting_vehicles": ("查看来访车辆明细", "Visiting vehicles listed"),
        "stats.registry_list": ("查看统计登记明细", "Registry list behind a figure viewed"),
        "faces.search": ("以图搜图", "Face search"),
        "event.view": ("查看通行详情", "Passage viewed"),
        "event_image.read": ("查看通行图片", "Passage image read"),
        "registry.update": ("核实结果更新一标三实", "Registry updated from a confirmed finding"),
        "registry.export": ("导出一标三实清单上报", "Registry list exported upward"),
        "registry.draft_complete": ("待登记人员完成登记", "Registration draft completed"),
        "registry.draft_dismiss": ("撤销待登记人员", "Registration draft dismissed"),
        "retention.apply": ("执行数据保留清理", "Retention applied"),
        "webhook.subscribe": ("订阅 Webhook", "Webhook subscribed"),
        "webhook.remove": ("删除 Webhook", "Webhook removed"),
        "case.create": ("新建案件", "Case created"),
        "case.create_from_alert": ("由预警立案", "Case created from an alert"),
        "case.import": ("导入案件", "Cases imported"),
        "case.update": ("修改案件", "Case changed"),
        "case.link_accept": ("确认串并", "Case link accepted"),
        "case.link_reject": ("否决串并", "Case link rejected"),
        "case.links_read": ("查看串并决定及备注", "Case link decisions read"),
        "case.model_train": ("训练串并模型", "Case-linkage model trained"),
        "case.model_rollback": ("回滚串并模型", "Case-linkage model rolled back"),
        "follow.add": ("添加关注", "Follow added"),
        "account.password": ("修改本人密码", "Own password changed"),
        "follow.remove": ("取消关注", "Follow removed"),
        "procedures.update": ("修改处置预案", "Response procedure changed"),
        "cascade.search.ask": ("发起跨区域研判", "Cross-node search asked"),
        "cascade.search.read": ("查看跨区域研判结果", "Cross-node search answer read"),
        "cascade.search.answer": ("答复上级跨区域研判", "Cross-node search answered"),
        "cascade.search.refuse": ("拒绝上级跨区域研判", "Cross-node search refused"),
        "cascade.search.relay": ("转发跨区域研判至下级", "Cross-node search passed down"),
        "trajectory.reveal_keys": ("查看同行人员标识原文", "Co-travellers' keys revealed"),
        "trajectory.read": ("轨迹查询", "Trajectory searched"),
        "trajectory.co_travellers": ("同行车辆分析", "Co-travellers searched"),
        "trajectory.reveal_plates": ("查看同行车牌原文", "Co-travellers' plates revealed"),
        "place_restriction.create": ("新增限行点位", "Restricted place added"),
        "place_restriction.update": ("修改限行点位", "Restricted place changed"),
        "place_restriction.remove": ("删除限行点位", "Restricted place removed"),
    },
    "record_type": {
        "alert": ("预警", "alert"),
        "assessment_indicator": ("考核指标", "assessment indicator"),
        "audit_entry": ("审计记录", "audit entry"),
        "device": ("设备", "device"),
        "event": ("事件", "event"),
        "face_event": ("人脸抓拍", "face capture"),
        "image": ("图片", "image"),
        "key_ring": ("密钥环", "key ring"),
        "legal_hold": ("法律保全", "legal hold"),
        "place_restriction": ("限行点位", "restricted place"),
        "quarantine_item": ("隔离数据", "quarantine item"),
        "resident": ("居民", "resident"),
        "user": ("用户账号", "user account"),
        "subject": ("通行人员标识", "passage subject"),
        "passage": ("通行记录", "passage record"),
        "house": ("房屋", "house"),
        "registration_draft": ("待登记人员", "registration draft"),
        "vehicle": ("车辆", "vehicle"),
        "retention_run": ("数据保留清理", "retention run"),
        "watchlist_entry": ("布控", "watchlist entry"),
        "webhook_subscription": ("Webhook 订阅", "webhook subscription"),
        "tip": ("随手拍", "resident tip"),
        "case_study": ("案例", "case library entry"),
        "patrol_checkin": ("巡逻打卡", "patrol check-in"),
        "building": ("楼栋", "building"),
        "case": ("案件", "case"),
        "linkage_model": ("串并模型", "case-linkage model"),
        "response_procedure": ("处置预案", "response procedure"),
        "community": ("小区", "community"),
        "plate": ("车牌", "plate"),
        "person": ("人员", "person"),  # a followed resident (zhian.follows)
        "id_number": ("身份证号", "ID-card number"),  # a cascade search's subject
    },
    # Statistics (zhian.web.stats_views): breakdown values of the metrics layer.
    "registration": {
        "household": ("户籍人口", "Household-registered"),
        "floating": ("流动人口", "Floating population"),
    },
    "direction": {
        "in": ("进", "in"),
        "out": ("出", "out"),
        "unknown": ("未知", "unknown"),
    },
    "passage_type": {
        "access": ("门禁通行", "Door passages"),
        "vehicle": ("车辆通行", "Vehicle passages"),
    },
    "house_use": {
        "owner_occupied": ("自住", "Owner-occupied"),
        "rented": ("出租", "Rented"),
        "idle": ("空置", "Vacant"),
    },
    "case_category": {
        "property": ("侵财类", "Property crime"),
        "burglary": ("入室盗窃", "Burglary"),
        "theft": ("盗窃", "Theft"),
        "theft_from_vehicle": ("车内盗窃", "Theft from vehicle"),
        "vehicle_theft": ("盗窃车辆", "Vehicle theft"),
        "pickpocketing": ("扒窃", "Pickpocketing"),
        "fraud": ("诈骗", "Fraud"),
        "telecom_fraud": ("电信网络诈骗", "Telecom fraud"),
        "violence": ("暴力类", "Violent crime"),
        "robbery": ("抢劫", "Robbery"),
        "assault": ("伤害", "Assault"),
        "public_order": ("治安类", "Public order"),
        "dispute": ("纠纷", "Dispute"),
    },
    "device_kind": {
        "door": ("门禁", "Door"),
        "vehicle_gate": ("道闸", "Vehicle gate"),
        "face_camera": ("人脸抓拍机", "Face camera"),
        "checkpoint": ("卡口", "Checkpoint"),
        "parking_camera": ("车位相机", "Car-park camera"),
        "smoke_sensor": ("烟感", "Smoke sensor"),
        "perimeter_alarm": ("周界报警", "Perimeter alarm"),
        "sos_button": ("一键求助", "SOS button"),
        "crowd_counter": ("客流计数", "Crowd counter"),
        "body_camera": ("执法记录仪", "Body camera"),
        "gateway": ("网关", "Gateway"),
    },
}


def text(lang: str) -> Mapping[str, str]:
    """Every text of the pages in `lang` (unknown languages get the default)."""
    return TEXT.get(lang, TEXT[DEFAULT_LANG])


def label(lang: str, group: str, value: object) -> str:
    """The display name of `value` in `group` (e.g. a tier); the value itself if unnamed."""
    if value is None:
        return ""
    if group == "role":
        try:
            role = Role(str(value))
        except ValueError:
            return str(value)
        return (ROLE_NAMES_EN if lang == "en" else ROLE_NAMES_ZH)[role]
    names = _LABELS.get(group, {}).get(str(value))
    if names is None and group in ("rule", "kind"):
        names = _model_titles().get(str(value))
    if names is None and group == "kind":
        names = _kind_names(str(value))
    if names is None:
        return str(value)
    return names[1] if lang == "en" else names[0]


# Alert kinds made of a prefix and a category (`tip_<category>`, `call_<category>`,
# `patrol_<category>`): a category the tables do not name shows the prefix's name and its
# code, so a deployment's own categories still read as a tip, a call or a patrol report.
_KIND_PREFIXES: Final[dict[str, tuple[str, str]]] = {
    "tip_": ("随手拍", "Tip"),
    "call_": ("110警情", "110 call"),
    "patrol_": ("巡逻上报", "Patrol report"),
}


def _kind_names(kind: str) -> tuple[str, str] | None:
    """A model's finding (its kind is the model's name without `model.`), or a prefixed
    kind of a category the tables do not name."""
    names = _model_titles().get(f"model.{kind}")
    if names is not None:
        return names
    for prefix, (zh, en) in _KIND_PREFIXES.items():
        if kind.startswith(prefix) and len(kind) > len(prefix):
            code = kind.removeprefix(prefix)
            return f"{zh}·{code}", f"{en}: {code}"
    return None


@cache
def _model_titles() -> dict[str, tuple[str, str]]:
    """The batch models' names: their alerts carry the model's name as rule and kind."""
    from zhian.models.catalogue import MODELS  # the catalogue imports every model

    return {model.name: (model.title_zh, model.title_en) for model in MODELS}


def choices(lang: str, group: str) -> list[tuple[str, str]]:
    """(value, display name) of every value of `group`, in table order, for a select; the
    alert kinds end with the models' findings."""
    values = list(_LABELS.get(group, {}))
    if group == "kind":
        values += [
            name.removeprefix("model.")
            for name in _model_titles()
            if name.removeprefix("model.") not in values
        ]
    return [(value, label(lang, group, value)) for value in values]


def register_labels(group: str, names: Mapping[str, tuple[str, str]]) -> None:
    """Add display names (zh, en) of a group's codes, for a domain's own pages (tips …)."""
    known = _LABELS.setdefault(group, {})
    for value, pair in names.items():
        known.setdefault(value, pair)
