// Zhian pages: live countdowns, ECharts from inline JSON, live-feed toasts and sound.
(function () {
  "use strict";
  var body = document.body;
  // A refused action (4xx) answers with the row or page that names the reason: show it.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "4..", swap: true, error: true },
    { code: "...", swap: false, error: true }
  ];
  // Server time minus browser time: countdowns follow the server's (injected) clock.
  var offsetMs = Date.parse(body.dataset.serverNow) - Date.now();
  if (isNaN(offsetMs)) { offsetMs = 0; }
  var warnSeconds = parseInt(body.dataset.warnSeconds || "180", 10);
  var overdueLabel = body.dataset.overdue || "overdue";

  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function format(seconds) {
    var s = Math.abs(Math.round(seconds));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return (h ? h + ":" + pad(m) : String(m)) + ":" + pad(r);
  }
  function tick() {
    var now = Date.now() + offsetMs;
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = (Date.parse(el.dataset.deadline) - now) / 1000;
      el.textContent = left < 0 ? overdueLabel + " " + format(left) : format(left);
      el.classList.toggle("over", left < 0);
      el.classList.toggle("soon", left >= 0 && left <= warnSeconds);
    });
  }

  var charts = [];
  // A chart with no figure other than zero says "no data" instead of drawing empty axes
  // or a grey ring that reads as data.
  // A line's measured zero is a figure; a bar or slice of zero is not.
  function isFigure(value, zeroCounts) {
    if (Array.isArray(value)) {
      return value.length > 1 && isFigure(value[value.length - 1], zeroCounts);
    }
    if (value && typeof value === "object") { return isFigure(value.value, zeroCounts); }
    return typeof value === "number" && (zeroCounts || value !== 0);
  }
  function hasData(option) {
    return (option.series || []).some(function (series) {
      var zeroCounts = series.type === "line";
      return (series.data || []).some(function (v) { return isFigure(v, zeroCounts); });
    });
  }
  // On a phone a table.cards row becomes a card: each cell names its column (the header
  // row is hidden there), so a figure never stands without its meaning.
  function labelCards(root) {
    var tables = Array.prototype.slice.call(root.querySelectorAll("table.cards"));
    var around = root.closest ? root.closest("table.cards") : null;  // a swapped tbody
    if (around) { tables.push(around); }
    tables.forEach(function (table) {
      var heads = Array.prototype.map.call(
        table.querySelectorAll("thead th"), function (th) { return th.textContent.trim(); });
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.prototype.forEach.call(row.children, function (cell, index) {
          if (cell.colSpan > 1) { cell.setAttribute("data-label", ""); return; }
          // A column without a heading (the row's buttons) gets an empty label: no prefix.
          if (index < heads.length && !cell.hasAttribute("data-label")) {
            cell.setAttribute("data-label", heads[index]);
          }
        });
      });
    });
  }
  function drawCharts(root) {
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.dataset.chart);
      if (!source || el.dataset.drawn) { return; }
      var option = JSON.parse(source.textContent);
      if (!hasData(option)) {
        el.dataset.drawn = "empty";
        el.classList.add("empty");
        el.textContent = document.body.dataset.noData || "";
        return;
      }
      if (typeof echarts === "undefined") { return; }
      el.dataset.drawn = "1";
      var chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option);
      charts.push(chart);
    });
  }
  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });

  // Sound is a per-browser choice, off until the user turns it on (autoplay rules).
  var soundKey = "zhian.sound";
  var audio = null;
  function beep() {
    if (localStorage.getItem(soundKey) !== "on") { return; }
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = 880; gain.gain.value = 0.15;
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + 0.35);
    } catch (e) { /* no audio device: the toast still shows */ }
  }
  document.querySelectorAll("input[data-sound-toggle]").forEach(function (box) {
    box.checked = localStorage.getItem(soundKey) === "on";
    box.addEventListener("change", function () {
      localStorage.setItem(soundKey, box.checked ? "on" : "off");
    });
  });

  var toasts = document.getElementById("toasts");
  function toast(alert) {
    if (!toasts || !alert) { return; }
    var lang = document.documentElement.lang === "en" ? "en" : "zh";
    var box = document.createElement("div");
    box.className = "toast";
    box.setAttribute("role", "status");
    var link = document.createElement("a");
    link.href = "/alerts/" + alert.id;
    link.textContent = (body.dataset.newAlert || "New alert") + " #" + alert.id;
    box.appendChild(link);
    box.appendChild(document.createTextNode(" " + (lang === "en" ? alert.title_en : alert.title_zh)));
    toasts.appendChild(box);
    setTimeout(function () { box.remove(); }, 8000);
  }

  // The live feed (/api/v1/live) names each SSE event by its first segment ("alert",
  // "procedure" ...); the data is the whole message, with its full "type".
  var liveBadge = document.getElementById("live-state");
  function onAlert(event) {
    var message;
    try { message = JSON.parse(event.data); } catch (e) { return; }
    if (message.type !== "alert.created") { return; }
    toast(message.alert);
    beep();
  }
  // An alert's detail page follows that alert: when anyone (another officer, the SLA
  // clock, the rules) changes it, the page re-fetches itself, unless the user is filling
  // in one of its forms; then it only says so, and the user reloads when ready.
  function isBusy(root) {
    return Array.prototype.some.call(
      root.querySelectorAll("textarea, input, select"),
      function (el) {
        if (el === document.activeElement) { return true; }
        var typed = el.tagName === "TEXTAREA" || el.type === "text" || el.type === "file";
        // Changed from what the page filled in (a reveal form comes with its purpose).
        return typed && el.value !== (el.defaultValue || "");
      }
    );
  }
  var refetching = false;
  function onAlertChange(event) {
    var followed = document.querySelector("main[data-follow-alert]");
    if (!followed) { return; }
    var message;
    try { message = JSON.parse(event.data); } catch (e) { return; }
    var id = message.alert ? String(message.alert.id) : String((message.data || {}).alert_id);
    if (id !== followed.dataset.followAlert || message.type === "alert.created") { return; }
    if (isBusy(followed)) {
      var notice = document.getElementById("alert-changed");
      if (notice) { notice.hidden = false; }
      return;
    }
    refetch(id, "#" + followed.id);
  }
  var again = false;
  function refetch(id, target) {
    if (refetching) { again = true; return; }  // one more once this one is in
    refetching = true;
    htmx.ajax("GET", "/alerts/" + id, { target: target, select: target, swap: "outerHTML" })
      .finally(function () {
        refetching = false;
        if (again) { again = false; refetch(id, target); }
      });
  }
  document.body.addEventListener("htmx:sseOpen", function (event) {
    if (liveBadge) { liveBadge.classList.add("on"); liveBadge.textContent = liveBadge.dataset.on; }
    var source = event.detail && event.detail.source;
    if (source && !source.zhianListening) {
      source.zhianListening = true;
      source.addEventListener("alert", onAlert);
      source.addEventListener("alert", onAlertChange);
      source.addEventListener("procedure", onAlertChange);
    }
  });
  document.body.addEventListener("htmx:sseError", function () {
    if (liveBadge) { liveBadge.classList.remove("on"); liveBadge.textContent = liveBadge.dataset.off; }
  });

  htmx.onLoad(function (root) { labelCards(root); drawCharts(root); tick(); });
  setInterval(tick, 1000);
})();
