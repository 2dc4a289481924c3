"""Time the statistics and report figures over a demo workspace (`zhian demo --no-serve`).

    zhian demo -w /tmp/demo --days 3 --scale 0.1 --no-serve
    python bench/stats_figures.py /tmp/demo

Prints the seconds one statistics read (every figure with 环比 and 同比), one 12-period
trend and one weekly PDF report take for the whole node, over the last simulated day and
week, and the event and alert counts they read; and the share of the visiting vehicles
(one `plates_seen` read of the store per period counted) in a statistics read.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta, timezone
from pathlib import Path

from zhian.access.scope import JurisdictionScope
from zhian.config import load_settings
from zhian.metrics.periods import Granularity, period_containing
from zhian.metrics.service import MetricsService
from zhian.node import Node
from zhian.reports.content import ReportKind, build_report
from zhian.reports.pdf import pdf_bytes


def main(workspace: Path) -> None:
    settings = load_settings(workspace)
    zone = timezone(timedelta(minutes=settings.pages.utc_offset_minutes))
    with Node.open(settings, feed=False) as node, node.db.session() as session:
        metrics = MetricsService(
            session, node.event_reads, draft_due_days=settings.registry.draft_due_days
        )
        area = metrics.area(JurisdictionScope.unscoped(), None)
        last = max(node.event_reads.device_last_seen().values())
        print(f"events stored: {sum(node.event_reads.count_by_type().values())}")
        for granularity in (Granularity.DAY, Granularity.WEEK):
            period = period_containing(granularity, last, zone)
            began = time.perf_counter()
            statistics = metrics.statistics(area, period)
            read = time.perf_counter() - began
            began = time.perf_counter()
            metrics.trend(area, period, "passages", None, 12)
            trend = time.perf_counter() - began
            began = time.perf_counter()
            pairs = [
                len(node.event_reads.plates_seen(each.start, each.end))
                for each in (period, period.previous(), period.year_before())
            ]
            visiting = time.perf_counter() - began
            print(
                f"{granularity.value} {period.label()}: statistics {read:.3f} s "
                f"(of which visiting vehicles' store reads {visiting:.3f} s, {pairs[0]} "
                f"device-plate pairs in the period), 12-period trend {trend:.3f} s, "
                f"alerts {statistics.value('alerts'):.0f}, "
                f"passages {statistics.value('passages'):.0f}, "
                f"visiting vehicles {statistics.value('visiting_vehicles'):.0f}"
            )
        period = period_containing(Granularity.WEEK, last, zone)
        began = time.perf_counter()
        report = build_report(
            metrics,
            area,
            period,
            ReportKind.WEEKLY,
            lang="zh",
            area_name="demo",
            key_label=lambda _metric, key: key,
            now=last,
        )
        body = pdf_bytes(report, zone, settings.reports)
        print(f"weekly PDF: {time.perf_counter() - began:.3f} s, {len(body) / 1024:.0f} KiB")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
