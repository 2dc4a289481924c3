"""response procedures as data, seeded with the built-in ones; children's procedure
overrides at the parent (#17)

Revision ID: 0022procedures
Revises: 0001
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhian.db.base

revision: str = "0022procedures"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0002alerts", "0016overrides")

# The built-in procedures as they stood when procedures became data (a copy, so that a
# later change of the code's defaults does not rewrite history).
_SEED: list[tuple[str, str, list[tuple[str, str, str, str | None]]]] = [
    (
        "alarm_fire",
        "*",
        [
            ("confirm", "视频或现场确认火情", "Confirm the fire by video or on site", None),
            ("call_119", "通知消防（119）", "Call the fire brigade (119)", None),
            ("evacuate", "组织楼内人员疏散", "Evacuate the building", None),
        ],
    ),
    (
        "alarm_smoke",
        "*",
        [
            ("confirm", "视频或现场确认烟雾来源", "Confirm the source of the smoke", None),
            ("contact", "联系住户或物业", "Contact the residents or property", None),
        ],
    ),
    (
        "alarm_gas",
        "*",
        [
            ("ventilate", "通知住户开窗、勿动电器", "Tell residents to ventilate", None),
            ("call_gas", "通知燃气公司", "Call the gas company", None),
        ],
    ),
    (
        "alarm_sos",
        "*",
        [
            ("contact", "回拨或现场联系求助人", "Reach the person who pressed SOS", None),
            ("care", "确认人身安全", "Make sure the person is safe", None),
        ],
    ),
    (
        "*",
        "major",
        [
            (
                "command_take",
                "指挥中心接报并启动重大事件响应",
                "Command centre takes charge of the major incident",
                "command_centre",
            ),
            (
                "command_reinforce",
                "调派周边警力及消防、医疗等联动力量",
                "Send nearby officers and the partner services needed (fire, medical)",
                "command_centre",
            ),
            (
                "command_report",
                "向上级报告事件及处置进展",
                "Report the incident and its handling upward",
                "command_centre",
            ),
        ],
    ),
]


def upgrade() -> None:
    procedures = op.create_table(
        "response_procedures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_procedures")),
        sa.UniqueConstraint("kind", "tier", name=op.f("uq_response_procedures_kind")),
    )
    op.bulk_insert(
        procedures,
        [
            {
                "kind": kind,
                "tier": tier,
                "steps": [
                    {"key": key, "text_zh": zh, "text_en": en, "role": role}
                    for key, zh, en, role in steps
                ],
                "origin": "local",
                "updated_by": None,
                "updated_at": None,
            }
            for kind, tier, steps in _SEED
        ],
    )
    op.create_table(
        "cascade_procedure_overrides",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("reported_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cascade_procedure_overrides")),
        sa.UniqueConstraint(
            "node_id", "kind", "tier", name=op.f("uq_cascade_procedure_overrides_node_id")
        ),
    )
    op.create_index(
        op.f("ix_cascade_procedure_overrides_node_id"),
        "cascade_procedure_overrides",
        ["node_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_cascade_procedure_overrides_node_id"), table_name="cascade_procedure_overrides"
    )
    op.drop_table("cascade_procedure_overrides")
    op.drop_table("response_procedures")
