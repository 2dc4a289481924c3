"""The metrics catalogue holds no figure and no breakdown by ethnicity or region of origin
(DESIGN.md, "what Zhian does not do"), and the registry keeps no field to count them by."""

from __future__ import annotations

import re

from sqlalchemy import inspect

from zhian.metrics.catalogue import METRICS
from zhian.registry.models import Resident

# Words that would name such a figure, in English, pinyin and Chinese.
FORBIDDEN = re.compile(
    r"ethnic|nationality|minzu|origin|birthplace|hometown|native.place|jiguan|hukou.?place"
    r"|民族|籍贯|出生地|户籍地|原籍|来源地|宗教",
    re.IGNORECASE,
)


def test_no_figure_or_breakdown_names_ethnicity_or_region_of_origin() -> None:
    for metric in METRICS:
        said = " ".join(
            [metric.name, metric.title_zh, metric.title_en, metric.breakdown or "", metric.formula]
        )
        assert not FORBIDDEN.search(said), metric.name
    # Population splits by registration type only: local household or floating.
    population = next(m for m in METRICS if m.name == "population")
    assert population.breakdown == "registration"


def test_the_registry_keeps_no_field_to_count_them_by() -> None:
    columns = [column.key for column in inspect(Resident).columns]
    assert columns, "the residents table has columns"
    assert not [name for name in columns if FORBIDDEN.search(name)], columns
