// The big screen (大屏): figures from /api/v1/screen, the map from /api/v1/map/*, kept live
// by the alert feed (/api/v1/live). A lost connection shows "disconnected" and, once the
// figures are older than STALE_SECONDS, "stale"; the browser reconnects on its own.
(function () {
  "use strict";
  var body = document.body;
  var lang = body.dataset.lang || "zh";
  var STALE_SECONDS = 90, POLL_SECONDS = 60;
  var lastUpdate = Date.now();
  // The last figures' time as the server wrote it, in the configured zone (never the
  // browser's own zone, which a wall display's PC may have set to anything).
  var lastLocal = "";
  var live = document.getElementById("screen-live");
  var updated = document.getElementById("screen-updated");
  var trendChart = null;
  var crowdCharts = [];
  var crowdThreshold = 1.5;
  var crowdList = document.getElementById("screen-crowd");

  function esc(text) {
    return String(text == null ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }[c];
    });
  }
  function figure(value, metric) {
    if (value === null || value === undefined) { return body.dataset.noData; }
    if (metric === "device_online_rate" || metric === "overdue_rate") { return value.toFixed(1) + "%"; }
    if (metric === "median_sign_minutes") { return value.toFixed(1); }
    return String(Math.round(value));
  }
  function render(snapshot) {
    snapshot.tiles.forEach(function (tile) {
      var el = document.querySelector('.tile[data-metric="' + tile.metric + '"]');
      if (!el) { return; }
      el.querySelector(".tile-value").textContent = figure(tile.value, tile.metric);
      var change = el.querySelector(".tile-change");
      var c = tile.change_previous_pct;
      change.textContent = c === null || c === undefined ? "—" : (lang === "en" ? "vs previous " : "环比 ") + (c > 0 ? "+" : "") + c.toFixed(1) + "%";
      change.className = "tile-change" + (c > 0 ? " up" : c < 0 ? " down" : "");
    });
    var types = document.getElementById("screen-types");
    types.innerHTML = snapshot.top_types.length ? snapshot.top_types.map(function (t) {
      return "<li data-kind=\"" + esc(t.kind) + "\">" + esc(t.name) + "<b>" + esc(t.count) + "</b></li>";
    }).join("") : "<li class=\"muted\">" + esc(body.dataset.noData) + "</li>";
    var d = snapshot.devices;
    document.getElementById("screen-devices").innerHTML =
      "<div>" + esc(crowdList.dataset.devices) + "<b>" + esc(figure(d.total, "alerts")) + "</b></div>" +
      "<div>" + esc(crowdList.dataset.online) + "<b id=\"screen-online\">" + esc(figure(d.online_rate_pct, "device_online_rate")) + "</b></div>" +
      "<div>" + esc(crowdList.dataset.openFaults) + "<b>" + esc(d.open_alerts) + "</b></div>";
    crowdCharts.forEach(function (chart) { chart.dispose(); });
    crowdCharts = [];
    crowdList.innerHTML = snapshot.crowd.length ? snapshot.crowd.map(function (z) {
      var crossing = z.crossing_in_minutes == null ? "" : " · " + crowdList.dataset.crossing + " " + z.crossing_in_minutes + " " + crowdList.dataset.minutes;
      return "<li class=\"crowd-level-" + z.level + "\" data-zone-id=\"" + esc(z.zone_id) + "\"><span>" + esc(z.name) + " · " + esc(z.level_name) + esc(crossing) + "<b>" + esc(z.density_per_m2) + "/m²</b></span>" +
        "<div class=\"crowd-curve\"></div></li>";
    }).join("") : "<li class=\"muted\">" + esc(crowdList.dataset.none) + "</li>";
    snapshot.crowd.forEach(function (z, i) {
      drawCurve(crowdList.querySelectorAll(".crowd-curve")[i], z.curve, snapshot.crowd_threshold);
    });
    crowdThreshold = snapshot.crowd_threshold || crowdThreshold;
    drawTrend(snapshot.trend);
    lastUpdate = Date.now();
    lastLocal = snapshot.generated_local;
    updated.textContent = updated.dataset.label + " " + lastLocal;
    updated.classList.remove("stale");
  }
  // A warned zone's density: measured minutes, then the forecast's mean (dashed), with
  // the threshold as a red line: the crowd page's chart, small.
  function drawCurve(el, curve, threshold) {
    if (!el || !curve || !curve.labels.length || typeof echarts === "undefined") { return; }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    var line = { type: "line", showSymbol: false, smooth: true };
    chart.setOption({
      animation: false, textStyle: { color: "#9fb3c8" },
      grid: { left: 4, right: 36, top: 8, bottom: 20, containLabel: true },
      xAxis: { type: "category", data: curve.labels, boundaryGap: false, axisLabel: { interval: "auto", fontSize: 12 },
        axisLine: { lineStyle: { color: "#36506f" } } },
      yAxis: { type: "value", position: "right", splitNumber: 2, axisLabel: { fontSize: 12 }, splitLine: { lineStyle: { color: "#1f3a5f" } },
        min: function (v) { return Math.max(0, Math.floor(v.min * 8) / 10); },
        max: function (v) { return Math.ceil(Math.max(v.max, threshold || 0) * 11) / 10; } },
      series: [
        Object.assign({ name: crowdList.dataset.measured, data: curve.measured, color: "#4fc3f7" }, line),
        Object.assign({ name: crowdList.dataset.forecast, data: curve.forecast, color: "#ffcc66", lineStyle: { type: "dashed" },
          markLine: threshold ? { symbol: "none", silent: true, label: { show: false }, data: [{ yAxis: threshold }], lineStyle: { color: "#ff5252" } } : undefined }, line)
      ]
    });
    crowdCharts.push(chart);
  }
  function drawTrend(trend) {
    var el = document.getElementById("screen-trend");
    var hasData = trend.values.some(function (v) { return v > 0; });
    if (!hasData) {
      if (trendChart) { trendChart.dispose(); trendChart = null; }
      el.classList.add("empty"); el.textContent = body.dataset.noData; return;
    }
    el.classList.remove("empty");
    if (typeof echarts === "undefined") { return; }
    if (!trendChart) { el.textContent = ""; trendChart = echarts.init(el, null, { renderer: "canvas" }); }
    trendChart.setOption({
      animation: false, textStyle: { color: "#9fb3c8" },
      grid: { left: 30, right: 10, top: 10, bottom: 24, containLabel: true },
      xAxis: { type: "category", data: trend.labels, axisLine: { lineStyle: { color: "#36506f" } } },
      yAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#1f3a5f" } } },
      series: [{ type: "line", data: trend.values, smooth: true, areaStyle: { opacity: 0.25 }, color: "#4fc3f7" }]
    });
  }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(url + " " + r.status); } return r.json(); });
  }
  var refreshing = false, again = false;
  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    getJSON("/api/v1/screen?lang=" + lang).then(render).catch(function () {}).finally(function () {
      refreshing = false;
      if (again) { again = false; setTimeout(refresh, 1000); }
    });
  }

  // The map: the area outlines, open alerts as glowing dots, zones by crowd density.
  var map = L.map("screen-map", { zoomControl: false, attributionControl: false });
  var alertLayer = L.layerGroup().addTo(map);
  var alertIds = {};
  function addAlert(p, latlng) {
    if (alertIds[p.id]) { return; }
    var icon = L.divIcon({ className: "", html: "<div class=\"screen-alert " + esc(p.tier) + "\" data-alert-id=\"" + esc(p.id) + "\"></div>", iconSize: [14, 14] });
    alertIds[p.id] = L.marker(latlng, { icon: icon, title: p.title_zh || "" }).addTo(alertLayer);
  }
  function loadAlerts() {
    return getJSON("/api/v1/map/alerts").then(function (data) {
      alertLayer.clearLayers(); alertIds = {};
      data.features.forEach(function (f) { var c = f.geometry.coordinates; addAlert(f.properties, [c[1], c[0]]); });
    });
  }
  // Crowd density as heat: points spread over each zone's polygon, each as hot as the
  // zone's density against the crowd threshold (full heat at the threshold), over the
  // zones' outlines coloured by level.
  var zoneLayer = L.layerGroup().addTo(map);
  var heatLayer = null;
  function inside(point, ring) {
    var x = point[0], y = point[1], found = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) { found = !found; }
    }
    return found;
  }
  function heatPoints(feature, weight) {
    var geometry = feature.geometry || {};
    var polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
    var points = [], STEPS = 6;
    polygons.forEach(function (polygon) {
      var ring = polygon[0], minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity, sx = 0, sy = 0;
      ring.forEach(function (c) { minX = Math.min(minX, c[0]); maxX = Math.max(maxX, c[0]); minY = Math.min(minY, c[1]); maxY = Math.max(maxY, c[1]); sx += c[0]; sy += c[1]; });
      for (var i = 0; i < STEPS; i++) {
        for (var j = 0; j < STEPS; j++) {
          var p = [minX + (maxX - minX) * (i + 0.5) / STEPS, minY + (maxY - minY) * (j + 0.5) / STEPS];
          if (inside(p, ring)) { points.push([p[1], p[0], weight]); }
        }
      }
      if (!points.length && ring.length) { points.push([sy / ring.length, sx / ring.length, weight]); }
    });
    return points;
  }
  function loadZones() {
    return getJSON("/api/v1/map/zones").then(function (data) {
      zoneLayer.clearLayers();
      var points = [];
      L.geoJSON(data, { style: function (f) {
        var level = (f.properties && f.properties.level) || 0;
        return { color: level >= 3 ? "#ff5252" : level >= 2 ? "#ffcc66" : "#8ff0b5", weight: 1, fill: false };
      } }).addTo(zoneLayer);
      data.features.forEach(function (f) {
        var density = f.properties && f.properties.density_per_m2;
        if (density == null || !(density > 0)) { return; }
        points = points.concat(heatPoints(f, Math.min(1, density / crowdThreshold)));
      });
      if (typeof L.heatLayer !== "function") { return; }
      if (!heatLayer) {
        heatLayer = L.heatLayer(points, { radius: 28, blur: 22, max: 1, minOpacity: 0.25,
          gradient: { 0.3: "#1e88e5", 0.55: "#43a047", 0.75: "#ffcc66", 0.9: "#ff9800", 1: "#ff1744" } }).addTo(map);
      } else {
        heatLayer.setLatLngs(points);
      }
      document.getElementById("screen-map").dataset.heatPoints = String(points.length);
    });
  }
  getJSON("/api/v1/map/areas").then(function (data) {
    var layer = L.geoJSON(data, { style: function () { return { color: "#4fc3f7", weight: 1.5, fillColor: "#1565c0", fillOpacity: 0.12 }; } }).addTo(map);
    var bounds = layer.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [20, 20] }); } else { map.setView([30.27, 120.15], 13); }
  }).catch(function () { map.setView([30.27, 120.15], 13); }).finally(function () {
    loadZones().catch(function () {});  // no crowd.view: no zones
    loadAlerts().catch(function () {}).finally(function () {
      document.getElementById("screen-map").dataset.ready = "1";
    });
  });

  // Live: any alert message refreshes the figures and the alert dots.
  var source = new EventSource("/api/v1/live");
  source.addEventListener("open", function () {
    live.classList.add("on"); live.textContent = live.dataset.on;
    refresh(); loadAlerts().catch(function () {});  // catch up on what the gap missed
  });
  source.addEventListener("error", function () {
    live.classList.remove("on"); live.textContent = live.dataset.off;
  });
  source.addEventListener("alert", function () { refresh(); loadAlerts().catch(function () {}); });
  // The machine's network goes: an open stream may not notice for a while, the screen does.
  window.addEventListener("offline", function () {
    live.classList.remove("on"); live.textContent = live.dataset.off;
  });
  window.addEventListener("online", function () {
    if (source.readyState === EventSource.OPEN) {
      live.classList.add("on"); live.textContent = live.dataset.on;
      refresh(); loadAlerts().catch(function () {});
    }  // otherwise the stream's own reconnection turns it on ("open" above)
  });

  setInterval(function () {
    if ((Date.now() - lastUpdate) / 1000 > STALE_SECONDS) {
      updated.classList.add("stale");
      updated.textContent = updated.dataset.stale + " · " + updated.dataset.label + " " + lastLocal;
    }
  }, 5000);
  setInterval(function () { refresh(); loadZones().catch(function () {}); }, POLL_SECONDS * 1000);
  render(JSON.parse(document.getElementById("screen-snapshot").textContent));
  window.addEventListener("resize", function () { crowdCharts.forEach(function (chart) { chart.resize(); }); });
  window.addEventListener("resize", function () { if (trendChart) { trendChart.resize(); } map.invalidateSize(); });
})();
