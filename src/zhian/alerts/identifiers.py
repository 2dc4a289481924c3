"""Identifiers inside alerts: a watchlist hit keeps the plate masked and as a vault token.

Alerts travel far (pages, the JSON API, the live feed, webhooks to outside systems), so
they never hold a plate in the clear: the sentence and figures show the masked plate
(浙A***45) and the figures keep its token, by which an audited reveal opens the vault.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from zhian.alerts.schemas import AlertDetail

PLATE_KIND: Final = "watchlist_plate"
PLATE_MASKED: Final = "plate_masked"
PLATE_TOKEN: Final = "plate_token"  # noqa: S105 - a figure name, not a secret
LEGAL_BASIS_REF: Final = "legal_basis_ref"


@dataclass(frozen=True, slots=True)
class AlertPlate:
    """The plate of a watchlist-plate alert as stored: masked, and its vault token.

    `token` is None for alerts written before plates were tokenised: migration
    0008maskhits masked those and dropped the clear plate, leaving nothing to reveal.
    """

    masked: str
    token: str | None
    legal_basis_ref: str | None


def plate_of(alert: AlertDetail) -> AlertPlate | None:
    """The plate a watchlist-plate alert was raised for; None for every other alert."""
    figures = alert.evidence.figures
    masked = figures.get(PLATE_MASKED)
    if alert.kind != PLATE_KIND or not isinstance(masked, str):
        return None
    token = figures.get(PLATE_TOKEN)
    basis = figures.get(LEGAL_BASIS_REF)
    return AlertPlate(
        masked=masked,
        token=token if isinstance(token, str) and token else None,
        legal_basis_ref=basis if isinstance(basis, str) and basis else None,
    )
