"""Every role in a real browser, through every page of its menu, in Chinese and English,
each at desk and phone width.

Fails on a page the menu offers that refuses (403) or is missing, a visible Chinese page
carrying an English word that is not an allowed identifier, an English page whose table
headers, labels and buttons carry Chinese, a horizontal scrollbar, a phone header taller than
a tenth of the screen, a phone table that lost its headers without becoming cards, and a
chart drawn although it holds no figure. One browser and one server
for the module; each role signs in once and reuses its page.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import uvicorn
from argon2 import PasswordHasher

from tests.web.browser.test_alert_loop import CHROMIUM, CHROMIUM_ARGS, PASSWORD, _free_port, _need
from tests.web.test_model_alert_evidence import crowd_warning, unregistered_alert
from zhian.access.roles import UNSCOPED_ROLES, Role
from zhian.access.service import AccessService
from zhian.cli.demo import load_district
from zhian.config import load_settings
from zhian.node import Node
from zhian.sim import build_district
from zhian.web.app import create_app

pytestmark = pytest.mark.slow

DESK = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# English words a Chinese page may show: protocol and standard names, units, the switch to
# English itself. Anything else in Latin letters is an untranslated text.
ALLOWED_WORDS = frozenset(
    {
        "English",
        "GA",
        "MQTT",
        "VIID",
        "HTTP",
        "API",
        "Digest",
        "HA1",
        "Webhook",
        "SOS",
        "KPI",
        "CSV",
        "UTC",
        "ID",
        "min",
        "Excel",
        "PDF",  # a file format, named so in Chinese too (the report centre)
        "JPEG",  # photo formats, named so in Chinese too (search by photo)
        "PNG",
        "Leaflet",  # the map library's name in the map's attribution line
    }
)
_WORD = re.compile(r"[A-Za-z][A-Za-z_]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")

# The visible text of the page, leaving out what is data rather than interface text:
# elements marked translate="no" (identifiers, names, codes), code, and closed details.
_VISIBLE_TEXT = """(selector) => {
  const out = [];
  const roots = selector ? document.querySelectorAll(selector) : [document.body];
  for (const root of roots) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      const el = node.parentElement;
      if (!el || el.closest('[translate="no"], script, style, code, template')) continue;
      if (!el.checkVisibility({visibilityProperty: true})) continue;
      if (node.textContent.trim()) out.push(node.textContent.trim());
    }
    for (const el of root.querySelectorAll('[placeholder], [aria-label]')) {
      if (el.closest('[translate="no"]') || !el.checkVisibility()) continue;
      out.push(el.getAttribute('placeholder') || el.getAttribute('aria-label') || '');
    }
  }
  return out;
}"""

# Charts drawn with no figure in them (a zero pie, empty bars), as the page's JSON holds them.
_EMPTY_CHARTS_DRAWN = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('[data-chart]')) {
    const source = document.getElementById(el.dataset.chart);
    if (!source) continue;
    const option = JSON.parse(source.textContent);
    const figure = (v, zero) => Array.isArray(v) ? v.length > 1 && figure(v[v.length - 1], zero)
      : (v && typeof v === 'object') ? figure(v.value, zero)
      : typeof v === 'number' && (zero || v !== 0);
    const hasData = (option.series || []).some(
      s => (s.data || []).some(v => figure(v, s.type === 'line')));
    if (!hasData && el.querySelector('canvas')) bad.push(el.id);
  }
  return bad;
}"""


# What sticks out past the right edge (outside any scrolling box), for the failure message.
_TOO_WIDE = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
    && !(e.parentElement && e.parentElement.closest('.scroll, nav')))
  .slice(0, 5)
  .map(e => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''} to ${
    Math.round(e.getBoundingClientRect().right)} px`)"""

# Tables on a phone whose header row is hidden while their cells do not name their column.
_HEADLESS_TABLES = """() => {
  const bad = [];
  for (const table of document.querySelectorAll('table')) {
    if (!table.checkVisibility() || !table.querySelector('tbody td')) continue;
    const head = table.querySelector('thead, tr:first-child th');
    if (head && head.checkVisibility() && head.getBoundingClientRect().height > 0) continue;
    const unnamed = [...table.querySelectorAll('tbody td')].filter(
      td => td.textContent.trim() && !td.hasAttribute('data-label')
        && !td.classList.contains('title'));
    if (unnamed.length) bad.push(table.id || table.className || 'table');
  }
  return bad;
}"""


@dataclass
class Site:
    node: Node
    base_url: str
    usernames: dict[Role, str] = field(default_factory=dict)


def _alarm(device_id: str, kind: str, level: int, detail: str) -> dict[str, Any]:
    return {
        "type": "alarm",
        "id": f"every-role-{kind}-{device_id}",
        "device_id": device_id,
        "time": datetime.now(UTC).isoformat(),
        "kind": kind,
        "level": level,
        "detail": detail,
    }


def _fault(device_id: str, code: str) -> dict[str, Any]:
    return {
        "type": "heartbeat",
        "id": f"every-role-fault-{device_id}",
        "device_id": device_id,
        "time": datetime.now(UTC).isoformat(),
        "status": "fault",
        "fault_code": code,
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    workspace = tmp_path_factory.mktemp("every-role") / "workspace"
    settings = load_settings(workspace, web={"secret_key": "r" * 40})
    district = build_district(seed=7, scale=0.05)
    levels: dict[str, str] = {}
    for row in district.tables["jurisdictions"]:
        levels.setdefault(str(row["level"]), str(row["id"]))
    top = levels.get("district") or levels["city"]
    station = levels.get("station", top)
    community = levels.get("community", station)
    place = {
        Role.COMMAND_CENTRE: top,
        Role.ANALYST: top,
        Role.AUDITOR: top,
        Role.INTEGRATOR: top,
        Role.STATION_OFFICER: station,
        Role.COMMUNITY_OFFICER: community,
        Role.GRID_WORKER: community,
        Role.PROPERTY_SECURITY: community,
        Role.UNIT_SECURITY: community,
    }
    usernames = {role: role.value for role in Role}
    with Node.open(settings, feed=False) as loading:
        load_district(loading, district)
        with loading.db.session() as session:
            access = AccessService(
                session, password_hasher=PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
            )
            for role in Role:
                access.create_user(
                    usernames[role],
                    PASSWORD,
                    role=role,
                    jurisdiction_id=None if role in UNSCOPED_ROLES else place[role],
                    display_name=f"测试用户{len(role.value)}",
                    now=loading.clock.now(),
                )
    devices = district.tables["devices"]

    def first(kind: str) -> str:
        return str(next(row["id"] for row in devices if row["kind"] == kind))

    with Node.open(settings) as node:
        events = [
            _alarm(first("smoke_sensor"), "smoke", 2, "smoke detected"),
            _alarm(first("sos_button"), "sos", 3, "SOS button pressed"),
            _fault(first("smoke_sensor"), "sensor_dirty"),
        ]
        result = node.intake.submit_raw(
            [json.dumps(event).encode() for event in events],
            source="native",
            sender_id=None,
            content_type="application/json",
        )
        assert result.accepted == len(events), result.items
        node.rule_engine.drain()
        # A model alert with registry candidates and a crowd warning with its advice: their
        # evidence must fit a phone and read in the page's language too.
        zone = district.tables["zones"][0]
        crowd_warning(
            node, community_id=str(zone["community_id"]), zone_id=str(zone["id"]),
            zone_name=str(zone["name"]),
        )  # fmt: skip
        unit = district.tables["units"][0]
        residents = district.tables["residents"]
        unregistered_alert(
            node,
            community_id=str(unit["id"]).split("-")[0],
            unit_id=str(unit["id"]),
            unit_name=f"1幢{unit['name']}",
            candidates=(str(residents[0]["id"]), str(residents[1]["id"])),
        )
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(node), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, name="zhian-every-role", daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        try:
            yield Site(node, f"http://127.0.0.1:{port}", usernames)
        finally:
            server.should_exit = True
            thread.join(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("the playwright package (pip install playwright; no browser download)")
    if shutil.which(CHROMIUM) is None:
        _need(f"Chromium at {CHROMIUM} (apt-get install -y chromium fonts-noto-cjk)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _problems_on(page: Any, url: str, *, lang: str, phone: bool) -> list[str]:
    problems: list[str] = []
    response = page.goto(url)
    status = response.status if response is not None else 0
    if status >= 400:
        return [f"{url}: HTTP {status}"]
    page.wait_for_load_state("networkidle")
    if not page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"):
        problems.append(f"{url}: horizontal scrollbar from {page.evaluate(_TOO_WIDE)}")
    if phone:
        header = page.evaluate(
            "document.querySelector('header.top').getBoundingClientRect().height"
        )
        if header >= PHONE["height"] / 10:
            problems.append(f"{url}: the header is {header:.0f} px tall on a phone")
        headless = page.evaluate(_HEADLESS_TABLES)
        if headless:
            problems.append(f"{url}: tables without headers or cell labels: {headless}")
    empty = page.evaluate(_EMPTY_CHARTS_DRAWN)
    if empty:
        problems.append(f"{url}: empty charts drawn as data: {empty}")
    if lang == "zh":
        # Identifiers (device IDs, masked plates, event IDs) carry digits: data, not text.
        chunks = [c for text in page.evaluate(_VISIBLE_TEXT, None) for c in text.split()]
        words = {w for c in chunks if not re.search(r"[\d*]", c) for w in _WORD.findall(c)}
        untranslated = sorted(words - ALLOWED_WORDS)
        if untranslated:
            problems.append(f"{url}: untranslated words {untranslated[:20]}")
    else:
        chrome = page.evaluate(_VISIBLE_TEXT, "th, label, button, nav")
        chinese = sorted({text for text in chrome if _CJK.search(text)})
        if chinese:
            problems.append(f"{url}: Chinese on an English page {chinese[:10]}")
    return problems


def _menu(page: Any) -> list[str]:
    hrefs: list[str] = page.eval_on_selector_all(
        "header.top nav a", "links => links.map(a => a.getAttribute('href'))"
    )
    return hrefs


def _alert_pages(page: Any) -> list[str]:
    """The wall's alerts (alarms, a fault, a model's, a crowd warning), when the role sees
    alerts: their detail pages too."""
    hrefs: list[str] = page.eval_on_selector_all(
        "#alert-rows a[href^='/alerts/']", "links => links.map(a => a.getAttribute('href'))"
    )
    return list(dict.fromkeys(hrefs))[:5]


@pytest.mark.parametrize("role", list(Role), ids=[role.value for role in Role])
def test_every_page_of_the_menu_fits_and_speaks_the_language(
    site: Site, browser: Any, role: Role
) -> None:
    context = browser.new_context(viewport=DESK, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{site.base_url}/login")
    page.fill("#username", site.usernames[role])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    menu = _menu(page)
    assert menu, f"{role.value} has an empty menu"
    problems: list[str] = []
    pages = [f"{site.base_url}{href}" for href in menu]
    if any(href.startswith("/alerts") for href in menu):
        page.goto(f"{site.base_url}/alerts?open=all&lang=zh")
        pages += [f"{site.base_url}{href}" for href in _alert_pages(page)]
    for lang, viewport in (("zh", DESK), ("zh", PHONE), ("en", DESK), ("en", PHONE)):
        page.set_viewport_size(viewport)
        for url in pages:
            joined = "&" if "?" in url else "?"
            address = re.sub(r"lang=\w+", f"lang={lang}", url) if "lang=" in url else url
            if "lang=" not in address:
                address = f"{address}{joined}lang={lang}"
            problems += _problems_on(page, address, lang=lang, phone=viewport is PHONE)
    context.close()
    assert not problems, "\n".join(problems)
