"""The roles a user can hold, with the names the pages show."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a user does; pages and APIs grant access by role (device tokens are separate)."""

    COMMAND_CENTRE = "command_centre"  # city/district duty officer
    STATION_OFFICER = "station_officer"  # police station officer
    COMMUNITY_OFFICER = "community_officer"  # officer of a community beat
    GRID_WORKER = "grid_worker"
    PROPERTY_SECURITY = "property_security"  # security staff of a residential estate
    UNIT_SECURITY = "unit_security"  # security of a key unit: school, hospital, mall
    ANALYST = "analyst"  # intelligence desk
    AUDITOR = "auditor"  # compliance: who saw what personal data, and why
    ADMIN = "admin"
    INTEGRATOR = "integrator"  # vendor or police IT: device onboarding, deployment


ROLE_NAMES_ZH: dict[Role, str] = {
    Role.COMMAND_CENTRE: "指挥中心",
    Role.STATION_OFFICER: "派出所民警",
    Role.COMMUNITY_OFFICER: "社区民警",
    Role.GRID_WORKER: "网格员",
    Role.PROPERTY_SECURITY: "物业保安",
    Role.UNIT_SECURITY: "单位安保",
    Role.ANALYST: "研判分析",
    Role.AUDITOR: "审计",
    Role.ADMIN: "管理员",
    Role.INTEGRATOR: "集成商",
}

ROLE_NAMES_EN: dict[Role, str] = {
    Role.COMMAND_CENTRE: "Command centre",
    Role.STATION_OFFICER: "Station officer",
    Role.COMMUNITY_OFFICER: "Community officer",
    Role.GRID_WORKER: "Grid worker",
    Role.PROPERTY_SECURITY: "Property security",
    Role.UNIT_SECURITY: "Unit security",
    Role.ANALYST: "Analyst",
    Role.AUDITOR: "Auditor",
    Role.ADMIN: "Administrator",
    Role.INTEGRATOR: "Integrator",
}

# Roles that may hold no jurisdiction: they administer the node rather than an area.
UNSCOPED_ROLES: frozenset[Role] = frozenset({Role.ADMIN})


def role_name(role: Role, lang: str = "zh") -> str:
    """The display name of a role in the page language ('zh' or 'en')."""
    return (ROLE_NAMES_EN if lang == "en" else ROLE_NAMES_ZH)[role]
