"""Two neighbouring stations with their communities, houses and residents, for scoping tests.

    J-CITY (city)
    ├── J-A (station) ── community C-A;  J-AX (community node) ── community C-AX
    └── J-B (station) ── community C-B

Each community has one building, unit and house (`H-<community>`) and one resident
(`R-<community>`, access card `CARD-<community>`).
"""

from __future__ import annotations

from typing import Any

from zhian.access.roles import Role
from zhian.access.scope import JurisdictionScope
from zhian.db.engine import Database
from zhian.governance.crypto import FieldCipher
from zhian.governance.identity import IdentitySealer
from zhian.governance.keys import KeyRing
from zhian.governance.tokens import Tokeniser
from zhian.registry.schemas import JurisdictionTreeRead
from zhian.registry.service import RegistryService

COMMUNITIES = {"C-A": "J-A", "C-AX": "J-AX", "C-B": "J-B"}


def _places() -> dict[str, list[dict[str, Any]]]:
    def per_community(make: Any) -> list[dict[str, Any]]:
        return [make(community) for community in COMMUNITIES]

    return {
        "jurisdictions": [
            {"id": "J-CITY", "parent_id": None, "level": "city", "name": "City"},
            {"id": "J-A", "parent_id": "J-CITY", "level": "station", "name": "Station A"},
            {"id": "J-AX", "parent_id": "J-A", "level": "community", "name": "Estate X"},
            {"id": "J-B", "parent_id": "J-CITY", "level": "station", "name": "Station B"},
        ],
        "communities": [
            {
                "id": community,
                "jurisdiction_id": jurisdiction,
                "name": f"Community {community}",
                "kind": "gated",
                "latitude": 30.27,
                "longitude": 120.15,
            }
            for community, jurisdiction in COMMUNITIES.items()
        ],
        "buildings": per_community(
            lambda c: {
                "id": f"B-{c}",
                "community_id": c,
                "name": f"Building {c}",
                "floors": 6,
                "latitude": 30.27,
                "longitude": 120.15,
            }
        ),
        "units": per_community(lambda c: {"id": f"U-{c}", "building_id": f"B-{c}", "name": "1"}),
        "houses": per_community(
            lambda c: {
                "id": f"H-{c}",
                "unit_id": f"U-{c}",
                "number": "101",
                "area_m2": 80,
                "registered_use": "rented",
            }
        ),
        "residents": per_community(
            lambda c: {
                "id": f"R-{c}",
                "house_id": f"H-{c}",
                "birth_year": 1985,
                "card_ref": f"CARD-{c}",
            }
        ),
    }


# A fixed key ring (deterministic tokens): cards and plates need one to be imported.
FIXED_RING = KeyRing(
    active="k1",
    keys={"k1": bytes(range(32))},
    token_key=bytes(range(32, 64)),
    seal_key=bytes(range(64, 96)),
)


def fixed_sealer() -> IdentitySealer:
    """A sealer from the fixed key ring."""
    return IdentitySealer(FieldCipher(FIXED_RING), Tokeniser(FIXED_RING.token_key))


SEALER = fixed_sealer()


def load_two_stations(db: Database, identity: IdentitySealer = SEALER) -> None:
    with db.session() as session:
        service = RegistryService(session, identity=identity)
        for entity, rows in _places().items():
            report = service.load_rows(entity, rows)
            assert report.rejected == 0, report.errors


def scope_of(tree: JurisdictionTreeRead, role: Role, jurisdiction_id: str) -> JurisdictionScope:
    """The scope of a user of `role` placed at `jurisdiction_id`, as the access service builds
    it (`AccessService.scope_for`)."""
    return JurisdictionScope.build(
        role=role,
        jurisdiction_id=jurisdiction_id,
        parents=tree.parents,
        community_jurisdiction=tree.community_jurisdiction,
    )
