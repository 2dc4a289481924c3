"""What a case library entry is written as and read as (Pydantic)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

# The kinds of situation an entry is filed under, with their names in both languages.
CATEGORIES: dict[str, tuple[str, str]] = {
    "fire": ("火灾与消防", "Fire"),
    "theft": ("盗窃", "Theft"),
    "fraud": ("诈骗", "Fraud"),
    "dispute": ("纠纷", "Dispute"),
    "violence": ("暴力", "Violence"),
    "crowding": ("人员聚集", "Crowding"),
    "traffic": ("交通与停车", "Traffic and parking"),
    "facility": ("设施与隐患", "Facilities and hazards"),
    "missing_person": ("走失与救助", "Missing person and rescue"),
    "other": ("其他", "Other"),
}
MAX_TAGS = 10
MAX_TAG_CHARS = 32
MAX_TEXT_CHARS = 4000
MAX_TITLE_CHARS = 200


class CaseStudyWrite(BaseModel):
    """An entry as its author writes it (checked again by the service: plain text, no
    identifiers, links in scope)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str
    category: str
    summary: str
    what_happened: str = ""
    what_worked: str = ""
    lessons: str
    tags: list[str] = Field(default_factory=list)
    occurred_at: datetime
    jurisdiction_id: str | None = None
    incident_id: int | None = Field(default=None, ge=1)
    alert_ids: list[int] = Field(default_factory=list, max_length=20)
    case_ids: list[str] = Field(default_factory=list, max_length=20)
    is_shared: bool = False


class CaseStudyRead(BaseModel):
    """An entry as readers see it; `origin_node` names the child node it came from."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    category: str
    summary: str
    what_happened: str
    what_worked: str
    lessons: str
    tags: list[str]
    occurred_at: datetime
    jurisdiction_id: str
    incident_id: int | None
    alert_ids: list[int]
    case_ids: list[str]
    is_shared: bool
    origin_node: str | None
    origin_id: int | None
    author_id: int | None
    created_at: datetime
    updated_at: datetime

    @property
    def is_received(self) -> bool:
        """Written at a child node and received through the cascade (read-only here)."""
        return self.origin_node is not None


class CaseStudyFilter(BaseModel):
    """A search of the library: words in any text, a tag, a category, a period."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(default="", max_length=100)
    tag: str = Field(default="", max_length=MAX_TAG_CHARS)
    category: str = ""
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
