"""The permission table: every permission Zhian checks and the roles that hold it.

Least privilege: a role holds only what its users' work needs (DESIGN.md, "Who uses it").
Reading personal data in the clear (`personal_data.reveal`) is for police roles only and
always needs a stated purpose; auditors read the audit log but no personal data; admins
manage users and settings but reveal nothing; integrators onboard devices and run the
integrations, never seeing identities. `docs/permissions.md` is generated from this module
(`zhian docs permissions`) and a test fails when it drifts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from zhian.access.roles import ROLE_NAMES_ZH, Role


@dataclass(frozen=True)
class Permission:
    """One thing a user may do: a dotted name, what it allows, and the roles holding it."""

    name: str
    description: str
    description_zh: str
    roles: frozenset[Role]


_CC = Role.COMMAND_CENTRE
_SO = Role.STATION_OFFICER
_CO = Role.COMMUNITY_OFFICER
_GW = Role.GRID_WORKER
_PS = Role.PROPERTY_SECURITY
_US = Role.UNIT_SECURITY
_AN = Role.ANALYST
_AU = Role.AUDITOR
_AD = Role.ADMIN
_IN = Role.INTEGRATOR

# Police and the community staff who respond to alerts on site.
_RESPONDERS = (_CC, _SO, _CO, _GW, _PS, _US)
_POLICE = (_CC, _SO, _CO)


def _permission(name: str, description: str, description_zh: str, *roles: Role) -> Permission:
    return Permission(name, description, description_zh, frozenset(roles))


PERMISSIONS: tuple[Permission, ...] = (
    _permission(
        "account.password",
        "Change one's own password (the current one is asked first); other sessions end.",
        "修改本人密码（须先输入原密码），其他登录会话随即失效",
        *_RESPONDERS,
        _AN,
        _AU,
        _AD,
        _IN,
    ),
    _permission(
        "status.view",
        "See the node's status page: intake figures, recent events and devices in scope.",
        "查看运行状态：接入统计、辖区内的最新事件与设备",
        *_RESPONDERS,
        _AN,
        _AU,
        _AD,
        _IN,
    ),
    _permission(
        "alerts.view",
        "See the alert wall, alert details, the workbench and the live feed of the jurisdiction.",
        "查看辖区预警墙、预警详情、工作台与实时推送",
        *_RESPONDERS,
        _AN,
    ),
    _permission("alerts.sign", "Sign for (take ownership of) an alert.", "签收预警", *_RESPONDERS),
    _permission("alerts.dispatch", "Dispatch an alert to a responder.", "派发预警", _CC, _SO, _CO),
    _permission(
        "alerts.handle",
        "Report arrival, handling and procedure steps of an alert.",
        "到场、处置与预案步骤反馈",
        *_RESPONDERS,
    ),
    _permission(
        "alerts.close",
        "Close an alert as resolved or false alarm.",
        "结项（已处置或误报）",
        *_RESPONDERS,
    ),
    _permission(
        "procedures.manage",
        "Edit the node's response procedures (预案): the steps alerts of a kind and tier "
        "tick before closing (a user whose jurisdiction holds every community of the node).",
        "编辑本节点的处置预案（按预警类型与级别的处置步骤；辖区须涵盖本节点全部社区）",
        _CC,
        _SO,
    ),
    _permission(
        "watchlists.view",
        "See watchlist entries of the jurisdiction (identities stay masked).",
        "查看辖区布控（身份信息脱敏）",
        *_POLICE,
        _AN,
    ),
    _permission(
        "watchlists.manage",
        "Add or withdraw watchlist entries, each with a legal basis and an expiry.",
        "新增或撤销布控（须有法律依据与期限）",
        *_POLICE,
    ),
    _permission(
        "residents.view",
        "See a resident's place and masked identity (revealing a field needs "
        "`personal_data.reveal`).",
        "查看实有人口的居住地与脱敏身份信息（查看原文另需权限）",
        *_RESPONDERS,
        _AN,
    ),
    _permission(
        "personal_data.reveal",
        "Reveal a masked identity field, stating a purpose (case number or reason); audited.",
        "查看脱敏身份信息原文（须说明用途，留痕审计）",
        *_POLICE,
        _AN,
    ),
    _permission(
        "audit.view", "Search the audit log by person, record and time.", "查询审计日志", _AU
    ),
    _permission("audit.export", "Export audit log entries.", "导出审计日志", _AU),
    _permission(
        "masterdata.import",
        "Import or change master data (jurisdictions, communities, housing, residents).",
        "导入或修改基础数据（一标三实）",
        _SO,
        _CO,
        _AD,
    ),
    _permission(
        "devices.view",
        "See devices of the jurisdiction and their state.",
        "查看辖区设备及状态",
        *_RESPONDERS,
        _AD,
        _IN,
    ),
    _permission(
        "devices.manage",
        "Onboard devices, enable or disable them, issue device tokens.",
        "设备接入、启停与设备令牌",
        _AD,
        _IN,
    ),
    _permission("users.manage", "Create, change and disable users.", "用户管理", _AD),
    _permission(
        "quality.view",
        "See data-quality figures per source and device.",
        "查看各来源与设备的数据质量",
        *_POLICE,
        _AN,
        _AD,
        _IN,
    ),
    _permission(
        "quarantine.view",
        "Browse the quarantine of rejected input (payload fields masked; the raw input in "
        "the clear needs `personal_data.reveal`).",
        "浏览隔离区（载荷字段脱敏；查看原文另需权限）",
        # Analysts: a refused passage can be evidence; they reveal with a purpose, audited.
        _AN,
        _AD,
        _IN,
    ),
    _permission(
        "quarantine.replay",
        "Send quarantined input through the intake again after a fix.",
        "修复后重放隔离数据",
        _AD,
        _IN,
    ),
    _permission("settings.manage", "Change node settings.", "修改系统设置", _AD),
    _permission(
        "kpi.view",
        "See statistics, reports and assessment figures (KPIs) of the jurisdiction.",
        "查看辖区专题统计、报表与考核指标",
        *_POLICE,
        _AN,
    ),
    _permission(
        "crowd.view",
        "See the crowd situation: occupancy, density, forecast and advice per zone.",
        "查看人流态势与超载预警",
        *_POLICE,
        _AN,
    ),
    _permission(
        "models.view",
        "See the analytic models, their running precision and each community's parameters.",
        "查看研判模型、运行精度与各社区参数",
        *_POLICE,
        _AN,
    ),
    _permission(
        "models.manage",
        "Change a community's model parameters (thresholds, windows, permitted hours) and "
        "its restricted places (which vehicles may pass a gate or zone, when and which way), "
        "and a place type's zombie and vacancy thresholds where the jurisdiction holds every "
        "community.",
        "修改社区的研判模型参数（阈值、时间窗、许可时段）与限行点位（许可车辆、时段、方向）；"
        "辖区涵盖全部社区者可修改场所类型的僵尸车与空置阈值",
        _CC,
        _SO,
    ),
    _permission(
        "cases.view",
        "See the cases (警情/案件) of the jurisdiction and their candidate links and series.",
        "查看辖区案件、串并候选与系列案",
        *_POLICE,
        _AN,
    ),
    _permission(
        "cases.manage",
        "Enter, change and import cases; turn a confirmed alert into a case.",
        "录入、修改、导入案件；由已确认预警立案",
        *_POLICE,
        _AN,
    ),
    _permission(
        "cases.link",
        "Accept or reject a suggested link between cases (recorded under your name).",
        "确认或否定串并建议（以本人名义记录）",
        _CC,
        _SO,
        _AN,
    ),
    _permission(
        "assessment.manage",
        "Change the weights and targets of the assessment indicators (audited).",
        "修改考核指标权重与目标值（留痕）",
        _CC,
    ),
    _permission(
        "cases.models",
        "Train the case-linkage model, compare its versions and roll back.",
        "训练串并模型、比较版本与回滚",
        _AN,
    ),
    _permission(
        "search.use",
        "Search plates, people (exact ID number or name, audited), places, devices, alerts "
        "and cases of the jurisdiction in one box.",
        "综合查询：辖区车辆、人员（身份证号或姓名精确查询，留痕审计）、地址、设备、预警与案件",
        *_POLICE,
        _AN,
    ),
    _permission(
        "passages.view",
        "See passage records (door, vehicle, face) of the jurisdiction, identities masked; a "
        "search by plate or person needs a case number and a reason and is audited.",
        "查看辖区通行记录（门禁/过车/人脸，身份脱敏）；按车牌或人员查询须案件编号与用途，留痕审计",
        *_POLICE,
        _AN,
    ),
    _permission(
        "faces.search",
        "Search face captures by a face feature, for a case (case number and reason "
        "required; audited); only captures within the short face retention.",
        "以图搜图：按人脸特征检索抓拍（须案件编号与用途，留痕审计，仅限短期保留的抓拍）",
        _CC,
        _SO,
        _AN,
    ),
    _permission(
        "registry.export",
        "Export a community's registry list upward (houses, residents masked, vehicles, "
        "registration drafts) to CSV or Excel (audited).",
        "导出社区一标三实清单上报（房屋、脱敏人口、车辆、待登记），留痕审计",
        _CC,
        _SO,
        _CO,
    ),
    _permission(
        "passages.export",
        "Export passage records to CSV or Excel (audited).",
        "导出通行记录为 CSV 或 Excel（留痕审计）",
        _CC,
        _SO,
        _AN,
    ),
    _permission(
        "trajectories.search",
        "Search a plate's or a resident's trajectory and co-travellers for a case of the "
        "jurisdiction, with a stated purpose (audited; plates and keys masked).",
        "为辖区案件检索车辆或人员轨迹与同行对象（须填案件编号与事由，留痕，号牌与标识脱敏）",
        _CC,
        _SO,
        _AN,
    ),
    _permission(
        "tips.triage",
        "Triage resident tips (随手拍): see the queue of the jurisdiction with photos and "
        "masked contact, raise an alert of a tier, or close one with a reason for the resident.",
        "审核群众随手拍：查看辖区待审核报告（照片、脱敏联系方式），转为预警或说明理由后关闭",
        *_POLICE,
    ),
    _permission(
        "library.view",
        "Read the case library (案例库) of the jurisdiction, entries shared by child nodes "
        "included.",
        "查看辖区案例库（含下级平台共享的案例）",
        *_RESPONDERS,
        _AN,
    ),
    _permission(
        "library.manage",
        "Write and edit case library entries (no personal data), and share them upward (audited).",
        "撰写、修改案例库条目（不含个人信息）并向上级共享（留痕）",
        *_POLICE,
        _AN,
    ),
    _permission(
        "integrations.manage",
        "Manage API tokens, webhooks and platform links (GA/T 1400, cascade).",
        "管理接口令牌、Webhook 与平台对接",
        _AD,
        _IN,
    ),
    _permission(
        "operations.metrics",
        "Read the node's operations figures (/api/v1/metrics): intake counts, log lag, "
        "alert counts by state; counts only, no record.",
        "读取运行指标（/api/v1/metrics）：接入计数、日志积压、各状态预警数；仅计数，无记录",
        _AD,
        _IN,
    ),
    # The node credential of a child node: an API token of an integrator placed at the
    # child's jurisdiction, narrowed to this permission (docs/cascade.md).
    _permission(
        "cascade.forward",
        "Deliver a child node's events, alert changes and device summaries to this node "
        "(the node credential of a child, within its jurisdiction).",
        "下级平台向本平台级联上报事件、预警变更与设备在线汇总（限其辖区）",
        _IN,
    ),
    _permission(
        "cascade.search",
        "Ask the child nodes of the jurisdiction for a plate's or an ID-card number's "
        "passages, for a case of the jurisdiction with a stated purpose, and read their "
        "answers (跨区域研判; audited on both sides; identifiers masked).",
        "跨区域研判：为辖区案件向下级平台检索车辆或身份证号的通行记录并查看答复"
        "（须填案件编号与事由，上下级均留痕，标识脱敏）",
        _CC,
        _SO,
        _AN,
    ),
    _permission(
        "cascade.view",
        "See the child nodes of the jurisdiction: last contact and what they delivered.",
        "查看辖区下级平台的级联链路：最近联络与上报情况",
        _CC,
        _SO,
        _AD,
        _IN,
    ),
)

PERMISSIONS_BY_NAME: dict[str, Permission] = {item.name: item for item in PERMISSIONS}

# Never granted to an API token, whatever its owner holds: a reveal needs a person who
# states a purpose, not an integration.
TOKEN_EXCLUDED_PERMISSIONS: frozenset[str] = frozenset({"personal_data.reveal"})


def permission(name: str) -> Permission:
    """The permission called `name`; KeyError names it when it does not exist."""
    try:
        return PERMISSIONS_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown permission '{name}'") from None


def permissions_of(role: Role | str) -> frozenset[str]:
    """Names of the permissions `role` holds (empty for an unknown role)."""
    try:
        checked = Role(role)
    except ValueError:
        return frozenset()
    return frozenset(item.name for item in PERMISSIONS if checked in item.roles)


def has_permission(role: Role | str, name: str) -> bool:
    return name in permissions_of(role) if name in PERMISSIONS_BY_NAME else False


def check_names(names: Iterable[str]) -> list[str]:
    """The names that are not permissions (empty when all are)."""
    return [name for name in names if name not in PERMISSIONS_BY_NAME]


def permissions_markdown() -> str:
    """docs/permissions.md: the role × permission table, generated from `PERMISSIONS`."""
    roles = list(Role)
    out = [
        "# Permissions 权限表",
        "",
        "Generated from `zhian.access.permissions` by `zhian docs permissions`; a test fails",
        "when it drifts. Every route's permission is in `zhian.web.permissions.ROUTES`.",
        "Scoping by jurisdiction applies on top, by one rule in every repository: officers,",
        "analysts and the command centre see their jurisdiction's subtree; grid workers,",
        "property and unit security only their own jurisdiction node (docs/dev/scoping.md).",
        "API tokens never carry `personal_data.reveal`.",
        "Devices are not users: a device token only submits events to the intake",
        "(routes marked `device` in the route map) and is never accepted as a user token.",
        "",
        "A signed-in browser holds a session kept in the database (`user_sessions`); the",
        "cookie carries only its signed random id, the database only that id's sha256. It",
        "lasts one duty shift (12 h) and ends at once, in every process, at logout, when",
        "the user's password changes (`zhian users password`) or when the user is disabled",
        "(`zhian users disable`): a copied cookie stops working with it.",
        "",
        "| permission | meaning | 说明 | " + " | ".join(f"`{role.value}`" for role in roles) + " |",
        "|---|---|---|" + "---|" * len(roles),
    ]
    for item in PERMISSIONS:
        marks = " | ".join("✓" if role in item.roles else "" for role in roles)
        out.append(f"| `{item.name}` | {item.description} | {item.description_zh} | {marks} |")
    out += ["", "## Roles 角色", "", "| role | 角色 | permissions |", "|---|---|---|"]
    for role in roles:
        held = ", ".join(f"`{name}`" for name in sorted(permissions_of(role))) or "—"
        out.append(f"| `{role.value}` | {ROLE_NAMES_ZH[role]} | {held} |")
    return "\n".join(out) + "\n"
