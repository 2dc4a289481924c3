// The map page (一张图): Leaflet layers from /api/v1/map/*, the drill-down, live alerts
// from the page's SSE connection, and dispatch to the nearest available responder.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var t = config.t;
  var lang = config.lang;
  var map = L.map("map", { preferCanvas: false, zoomControl: false, maxZoom: config.base.max_zoom });
  // Leaflet's own control speaks English: its button titles come from the page's language.
  L.control.zoom({ zoomInTitle: config.t.map_zoom_in, zoomOutTitle: config.t.map_zoom_out }).addTo(map);
  function stateName(state) { return (config.states && config.states[state]) || state; }
  map.setView([39.9, 116.4], 12);  // until the layers arrive and the map fits them
  if (config.base.tile_url) {
    L.tileLayer(config.base.tile_url, {
      maxZoom: config.base.max_zoom,
      attribution: config.base.attribution || "",
    }).addTo(map);
  }
  var groups = {};
  var shown = {};
  var deviceAt = {};      // device id -> [lat, lng]
  var communityAt = {};   // community id -> [lat, lng]
  var alertMarkers = {};  // alert id -> marker
  var alertRows = {};     // alert id -> feature properties
  var filter = null;      // {name, communities: Set}
  var fitted = false;

  function esc(value) {
    return String(value === null || value === undefined ? "" : value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(url + ": " + r.status); } return r.json(); });
  }
  function title(p) { return lang === "en" ? p.title_en : p.title_zh; }

  // --- the layers ---------------------------------------------------------------------
  function group(name, layer) {
    if (groups[name]) { map.removeLayer(groups[name]); }
    groups[name] = layer;
    var box = document.querySelector('#map-layers input[data-layer="' + name + '"]');
    if (!box || box.checked) { layer.addTo(map); }
    return layer;
  }
  document.querySelectorAll("#map-layers input[data-layer]").forEach(function (box) {
    box.addEventListener("change", function () {
      var layer = groups[box.dataset.layer];
      if (!layer) { return; }
      if (box.checked) { layer.addTo(map); } else { map.removeLayer(layer); }
      document.getElementById("map").dataset["shown" + box.dataset.layer] = box.checked ? "1" : "0";
    });
  });

  function loadAreas(parent) {
    var url = "/api/v1/map/areas" + (parent ? "?parent=" + encodeURIComponent(parent) : "");
    return getJSON(url).then(function (data) {
      var layer = L.geoJSON(data, {
        style: function (f) {
          var busy = f.properties.open_alerts > 0;
          return { color: busy ? "#b3261e" : "#2f6fb3", weight: 2, fillOpacity: 0.08 };
        },
        onEachFeature: function (f, shape) {
          var p = f.properties;
          p.community_ids.forEach(function (c) { communityAt[c] = communityAt[c] || null; });
          shape.bindTooltip(esc(p.name) + " · " + p.open_alerts, { permanent: true, direction: "center", className: "map-label" });
          shape.on("click", function () {
            setFilter(p.name, p.community_ids);
            var html = "<b>" + esc(p.name) + "</b><br>" + t.map_communities + " " + p.communities +
              " · " + t.map_buildings + " " + p.buildings + "<br>" + t.map_devices + " " + p.devices +
              " · " + t.map_online_rate + " " + (p.online_rate_pct === null ? "—" : p.online_rate_pct + "%") +
              "<br>" + t.map_open_alerts + " " + p.open_alerts + "<br>";
            if (p.is_drillable) {
              html += '<button type="button" class="map-drill" data-area="' + esc(p.id) + '">' + t.map_drill + "</button>";
            } else {
              html += '<a href="/archives/communities/' + encodeURIComponent(p.id) + "?lang=" + lang + '">' + t.map_archive + "</a>";
            }
            shape.bindPopup(html).openPopup();
          });
          // Leaflet makes a new path element each time the layer is added: mark each one.
          shape.on("add", function () {
            var el = shape.getElement();
            if (el) { el.setAttribute("data-area", p.id); }
          });
        },
      });
      group("areas", layer);
      drawTrail(data.trail || []);
      document.getElementById("map").dataset.parent = data.parent_id || "";
      if (data.features.length) { map.fitBounds(layer.getBounds(), { padding: [20, 20] }); fitted = true; }
    });
  }
  map.on("popupopen", function (event) {
    var button = event.popup.getElement().querySelector("button.map-drill");
    if (button) { button.addEventListener("click", function () { map.closePopup(); clearFilter(); loadAreas(button.dataset.area); }); }
    var dispatch = event.popup.getElement().querySelector("[data-responders]");
    if (dispatch) { loadResponders(dispatch, event.popup); }
  });
  function drawTrail(trail) {
    var nav = document.getElementById("map-trail");
    nav.innerHTML = "";
    trail.forEach(function (step, index) {
      var last = index === trail.length - 1;
      var item = document.createElement(last ? "span" : "a");
      item.textContent = step.name + (last ? "" : " ›");
      item.dataset.area = step.id;
      if (!last) {
        item.href = "#";
        item.addEventListener("click", function (e) { e.preventDefault(); clearFilter(); loadAreas(step.id); });
      }
      nav.appendChild(item);
    });
  }

  function dot(cls, size) {
    return L.divIcon({ className: cls, iconSize: [size, size] });
  }
  function loadBuildings() {
    return getJSON("/api/v1/map/buildings").then(function (data) {
      group("buildings", L.geoJSON(data, {
        pointToLayer: function (f, at) {
          return L.circleMarker(at, { radius: 5, color: "#5b6470", weight: 1, fillColor: "#cfd6de", fillOpacity: 0.9 });
        },
        onEachFeature: function (f, marker) {
          var p = f.properties;
          marker.bindPopup("<b>" + esc(p.name) + "</b> · " + p.floors + "F<br><a href=\"/archives/buildings/" +
            encodeURIComponent(p.id) + "?lang=" + lang + "\">" + t.map_archive + "</a>");
        },
      }));
    });
  }
  function loadDevices() {
    return getJSON("/api/v1/map/devices").then(function (data) {
      var cluster = L.markerClusterGroup({ disableClusteringAtZoom: 18, showCoverageOnHover: false });
      L.geoJSON(data, {
        pointToLayer: function (f, at) {
          deviceAt[f.properties.id] = [at.lat, at.lng];
          return L.marker(at, { icon: dot("map-dot " + f.properties.status, 12), title: f.properties.name });
        },
        onEachFeature: function (f, marker) {
          var p = f.properties;
          marker.bindPopup("<b>" + esc(p.name) + "</b><br>" + esc(p.kind) + " · " + t["map_status_" + p.status] +
            "<br><a href=\"/devices/" + encodeURIComponent(p.id) + "?lang=" + lang + "\">" + t.map_archive + "</a>");
        },
      }).eachLayer(function (marker) { cluster.addLayer(marker); });
      group("devices", cluster);
      document.getElementById("map").dataset.devices = String(data.features.length);
    });
  }
  function loadZones() {
    return getJSON("/api/v1/map/zones").then(function (data) {
      var colours = ["#2e7d32", "#c28a00", "#d0580f", "#b3261e"];
      group("zones", L.geoJSON(data, {
        style: function (f) {
          var level = f.properties.level;
          return { color: level === null ? "#8a8f98" : colours[level] || "#b3261e", weight: 1, fillOpacity: 0.35 };
        },
        onEachFeature: function (f, shape) {
          var p = f.properties;
          shape.bindPopup("<b>" + esc(p.name) + "</b><br>" + t.map_people + " " + (p.people === null ? "—" : Math.round(p.people)) +
            "<br>" + t.map_density + " " + (p.density_per_m2 === null ? "—" : p.density_per_m2));
        },
      }));
    });
  }

  // Case hotspots (热力图): the best forecast cells of each station, darker for a higher rank.
  function loadHotspots() {
    return getJSON("/api/v1/map/hotspots").then(function (data) {
      group("hotspots", L.geoJSON(data, {
        style: function (f) {
          var strength = Math.max(0.15, 0.7 - f.properties.rank * 0.01);
          return { color: "#b3261e", weight: 0.5, fillColor: "#e4572e", fillOpacity: strength };
        },
        onEachFeature: function (f, shape) {
          var p = f.properties;
          shape.bindPopup("<b>" + esc(p.station_name) + " #" + p.rank + "</b><br>" +
            t.map_hotspot_share + " " + (Math.round(p.share * 1000) / 10) + "%<br>" +
            t.map_hotspot_past + " " + p.past_cases);
        },
      }));
      document.getElementById("map").dataset.hotspots = String(data.features.length);
    });
  }

  // Patrol points of the shift under way (警力优化), numbered by officer and order.
  function loadPatrols() {
    return getJSON("/api/v1/map/patrols").then(function (data) {
      group("patrols", L.geoJSON(data, {
        pointToLayer: function (f, at) {
          return L.marker(at, { icon: dot("map-patrol", 14), title: f.properties.station_name });
        },
        onEachFeature: function (f, shape) {
          var p = f.properties;
          var hours = p.hours.map(function (h) { return (h < 10 ? "0" : "") + h + ":00"; }).join(" ");
          shape.bindPopup("<b>" + esc(p.station_name) + "</b><br>" + t.map_patrol_officer + " " + p.officer +
            " · #" + p.order + "<br>" + t.map_patrol_hours + " " + esc(hours));
        },
      }));
      document.getElementById("map").dataset.patrols = String(data.features.length);
    });
  }

  // Patrol units on duty (opted in from their phones), at their last fresh position.
  function loadUnits() {
    return getJSON("/api/v1/patrol/units").then(function (data) {
      group("units", L.geoJSON(data, {
        pointToLayer: function (f, at) {
          return L.marker(at, { icon: dot("map-unit", 14), title: f.properties.name });
        },
        onEachFeature: function (f, shape) {
          shape.bindPopup("<b>" + esc(f.properties.name) + "</b><br>" + t.map_unit_at + " " +
            esc(new Date(f.properties.at).toLocaleTimeString()));
        },
      }));
      document.getElementById("map").dataset.units = String(data.features.length);
    });
  }

  // --- alerts: markers, the side list, live arrivals -------------------------------------
  // An element, not a string: Leaflet re-renders string content on every update, which
  // would drop the responders filled in after the popup opened.
  function alertPopup(p) {
    var node = document.createElement("div");
    node.innerHTML = alertPopupHtml(p);
    return node;
  }
  function alertPopupHtml(p) {
    var html = "<b>" + esc(title(p)) + "</b><br><span class=\"muted\">#" + p.id + " · " + esc((config.tiers && config.tiers[p.tier]) || p.tier) + " · " + esc(stateName(p.state)) +
      "</span><br><a class=\"map-open-alert\" href=\"/alerts/" + p.id + "?lang=" + lang + "\">" + t.map_open + "</a>";
    if (config.may_dispatch) {
      html += "<div data-responders=\"" + p.id + "\"><em class=\"muted\">" + t.map_nearest + "…</em></div>";
    }
    return html;
  }
  function addAlert(p, at, isNew) {
    if (!at || alertMarkers[p.id]) { return; }
    var marker = L.marker(at, {
      icon: dot("map-alert " + p.tier + (isNew ? " pulse" : ""), 18),
      zIndexOffset: 1000,
      title: title(p),
    });
    marker.bindPopup(alertPopup(p));
    marker.on("add", function () {
      var el = marker.getElement();
      if (el) { el.dataset.alertId = String(p.id); }
    });
    alertMarkers[p.id] = marker;
    alertRows[p.id] = p;
    if (!groups.alerts) { group("alerts", L.layerGroup()); }
    groups.alerts.addLayer(marker);
    drawList();
  }
  function loadAlerts() {
    return getJSON("/api/v1/map/alerts").then(function (data) {
      group("alerts", L.layerGroup());
      alertMarkers = {}; alertRows = {};
      data.features.forEach(function (f) {
        var c = f.geometry.coordinates;
        addAlert(f.properties, [c[1], c[0]], false);
      });
      drawList();
    });
  }
  function drawList() {
    var list = document.getElementById("map-list");
    list.innerHTML = "";
    var ids = Object.keys(alertRows).map(Number).sort(function (a, b) { return b - a; });
    var shownCount = 0;
    ids.forEach(function (id) {
      var p = alertRows[id];
      if (filter && !filter.communities.has(p.community_id)) { return; }
      shownCount += 1;
      var item = document.createElement("li");
      item.dataset.alertId = String(id);
      item.dataset.community = p.community_id || "";
      item.innerHTML = "<a href=\"/alerts/" + id + "?lang=" + lang + "\">#" + id + " " + esc(title(p)) + "</a> <span class=\"muted\">" + esc(stateName(p.state)) + "</span>";
      item.addEventListener("mouseenter", function () { var m = alertMarkers[id]; if (m && map.hasLayer(m)) { m.openPopup(); } });
      list.appendChild(item);
    });
    if (!shownCount) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = t.map_list_none;
      list.appendChild(none);
    }
  }
  function setFilter(name, communities) {
    filter = { name: name, communities: new Set(communities) };
    document.getElementById("map-filter").textContent = "· " + name;
    document.getElementById("map-filter-clear").hidden = false;
    drawList();
  }
  function clearFilter() {
    filter = null;
    document.getElementById("map-filter").textContent = "";
    document.getElementById("map-filter-clear").hidden = true;
    drawList();
  }
  document.getElementById("map-filter-clear").addEventListener("click", clearFilter);

  function onLive(event) {
    var message;
    try { message = JSON.parse(event.data); } catch (e) { return; }
    var a = message.alert;
    if (!a || shown.alerts !== true) { return; }
    if (message.type === "alert.created") {
      var at = deviceAt[a.device_id] || null;
      if (!at) {
        // Not among the devices drawn: ask the server where it is.
        getJSON("/api/v1/map/alerts").then(function (data) {
          data.features.forEach(function (f) {
            if (f.properties.id === a.id) { addAlert(f.properties, [f.geometry.coordinates[1], f.geometry.coordinates[0]], true); }
          });
        });
        return;
      }
      addAlert({ id: a.id, kind: a.kind, tier: a.tier, state: a.state, title_zh: a.title_zh, title_en: a.title_en,
                 community_id: a.community_id, device_id: a.device_id }, at, true);
    } else if (alertRows[a.id]) {
      if (a.state === "closed") {
        groups.alerts.removeLayer(alertMarkers[a.id]);
        delete alertMarkers[a.id]; delete alertRows[a.id];
      } else {
        alertRows[a.id].state = a.state;
        alertMarkers[a.id].setPopupContent(alertPopup(alertRows[a.id]));
      }
      drawList();
    }
  }
  document.body.addEventListener("htmx:sseOpen", function (event) {
    var source = event.detail && event.detail.source;
    if (source && !source.zhianMap) {
      source.zhianMap = true;
      source.addEventListener("alert", onLive);
    }
  });

  // --- dispatch to the nearest available responder --------------------------------------
  function loadResponders(box, popup) {
    var id = box.dataset.responders;
    getJSON("/api/v1/map/alerts/" + id + "/responders").then(function (data) {
      fill(box, id, data);
      popup.update();  // the popup grew: pan the map so all of it shows
    }).catch(function () { box.innerHTML = ""; });
  }
  function fill(box, id, data) {
    if (data.state !== "signed") {
      box.innerHTML = "<em class=\"muted\">" + (data.state === "new" ? t.map_sign_first : "") + "</em>";
      return;
    }
    if (!data.responders.length) { box.innerHTML = "<em class=\"muted\">" + t.map_no_responders + "</em>"; return; }
    var html = "<b>" + t.map_nearest + "</b><ol class=\"map-responders\">";
    data.responders.forEach(function (r) {
      var far = r.distance_m === null ? t.map_no_position : (r.distance_m >= 1000 ? (r.distance_m / 1000).toFixed(1) + " km" : Math.round(r.distance_m) + " m");
      html += "<li data-user-id=\"" + r.user_id + "\">" + esc(r.display_name) + " · " + far +
        (r.is_available ? "" : " · " + t.map_busy) +
        " <button type=\"button\" class=\"map-dispatch\" data-alert=\"" + id + "\" data-user=\"" + r.user_id + "\">" + t.map_dispatch + "</button></li>";
    });
    box.innerHTML = html + "</ol>";
    box.querySelectorAll("button.map-dispatch").forEach(function (button) {
      button.addEventListener("click", function () {
        var form = document.getElementById("map-dispatch-form");
        form.action = "/alerts/" + button.dataset.alert + "/actions/dispatch";
        form.elements.assignee_id.value = button.dataset.user;
        form.elements.note.value = t.map_title;
        form.submit();
      });
    });
  }

  // --- start ------------------------------------------------------------------------------
  var loaders = { areas: function () { return loadAreas(null); }, buildings: loadBuildings, devices: loadDevices,
                  zones: loadZones, alerts: loadAlerts, hotspots: loadHotspots,
                  patrols: loadPatrols, units: loadUnits };
  var pending = config.layers.map(function (name) {
    shown[name] = true;
    return loaders[name]();
  });
  Promise.all(pending).then(function () {
    if (!fitted && groups.devices && groups.devices.getLayers().length) { map.fitBounds(groups.devices.getBounds()); }
    document.getElementById("map").dataset.ready = "1";
  }).catch(function (error) { document.getElementById("map").dataset.error = String(error); });
})();
