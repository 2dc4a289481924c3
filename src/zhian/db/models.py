"""Every table of the operational database, imported in one place for Alembic and tests."""

from zhian.access.models import ApiToken, LoginFailure, User, UserSession  # noqa: F401
from zhian.alerts.models import (  # noqa: F401
    Alert,
    AlertAction,
    AlertDeadline,
    DeviceOnlineSample,
    Incident,
    LiveMessageRecord,
    ProcedureStep,
    PushSubscription,
    ResponseProcedure,
    WebhookDelivery,
    WebhookSubscription,
)
from zhian.assessment.models import IndicatorOverride  # noqa: F401
from zhian.audit.models import AuditEntry, AuditHead  # noqa: F401
from zhian.cascade.models import (  # noqa: F401
    ChildAlertChange,
    ChildLink,
    ChildOnlineSummary,
    ForwardPosition,
    ReceivedOrder,
    ViidUpperOutbox,
)
from zhian.cascade.search_models import CrossSearchAnswer, CrossSearchRequest  # noqa: F401
from zhian.case_library.models import CaseStudy  # noqa: F401
from zhian.cases.models import Case, CaseLink, LinkageModelVersion  # noqa: F401
from zhian.db.base import Base
from zhian.devices.models import Device
from zhian.follows.models import Follow  # noqa: F401
from zhian.governance.models import LegalHold  # noqa: F401
from zhian.ingest.ferry.models import FerryImport  # noqa: F401
from zhian.ingest.quarantine.models import QuarantineItem
from zhian.ingest.viid.models import ViidCredential, ViidObject, ViidSubscription  # noqa: F401
from zhian.models.orm import ModelParameter, WelfareOptin  # noqa: F401
from zhian.models.utilities import UtilityReading  # noqa: F401
from zhian.patrol.models import PatrolCheckin, PatrolPosition  # noqa: F401
from zhian.processes.models import ProcessHeartbeat  # noqa: F401
from zhian.registry.models import (
    Building,
    Community,
    House,
    Jurisdiction,
    PointOfInterest,
    Resident,
    Unit,
    Vehicle,
    Zone,
)
from zhian.reports.models import ArchivedReport  # noqa: F401
from zhian.rules.crowd_data import CrowdFlowPoint  # noqa: F401
from zhian.rules.models import RuleCheckpoint  # noqa: F401
from zhian.tips.models import Tip  # noqa: F401
from zhian.watchlists.models import WatchlistEntry  # noqa: F401

__all__ = [
    "Base",
    "Building",
    "Community",
    "Device",
    "House",
    "Jurisdiction",
    "PointOfInterest",
    "QuarantineItem",
    "Resident",
    "Unit",
    "User",
    "Vehicle",
    "Zone",
]
