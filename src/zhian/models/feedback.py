"""Officers' feedback on model alerts: confirmed or false alarm, per model and community.

Derived from how alerts were closed (`resolved` = confirmed, `false_alarm`), read through
the alert service, so there is one record of the outcome and nothing to keep in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import AlertFilter
from zhian.alerts.service import AlertService
from zhian.models.catalogue import MODELS

_PAGE = 500


@dataclass
class ModelFeedback:
    """Closed alerts of one model (in one community, or everywhere when None)."""

    model: str
    community_id: str | None
    confirmed: int = 0
    false_alarms: int = 0

    @property
    def precision(self) -> float | None:
        """Running precision: confirmed / (confirmed + false alarms); None before any."""
        judged = self.confirmed + self.false_alarms
        return self.confirmed / judged if judged else None


def collect_feedback(
    alerts: AlertService, *, scope: JurisdictionScope
) -> dict[tuple[str, str | None], ModelFeedback]:
    """Feedback per (model rule, community) over the alerts `scope` sees (a reader's, or
    `JurisdictionScope.unscoped()` for the node), plus a total per model under None."""
    found: dict[tuple[str, str | None], ModelFeedback] = {}
    for model in MODELS:
        total = found[(model.name, None)] = ModelFeedback(model.name, None)
        kind = model.name.removeprefix("model.")
        page = 1
        while True:
            batch = alerts.list_alerts(
                AlertFilter(kind=kind, is_open=False),
                scope=scope,
                page=page,
                per_page=_PAGE,
            )
            for alert in batch.items:
                if alert.rule != model.name or alert.outcome is None:
                    continue
                key = (model.name, alert.community_id)
                entry = found.setdefault(key, ModelFeedback(model.name, alert.community_id))
                for target in (entry, total):
                    if alert.outcome == "resolved":
                        target.confirmed += 1
                    elif alert.outcome == "false_alarm":
                        target.false_alarms += 1
            if page * _PAGE >= batch.total:
                break
            page += 1
    return found
