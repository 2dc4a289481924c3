// The tip form: the place from the phone's location, or tapped on the map (the page works
// without either: the coordinates can be typed).
(function () {
  "use strict";
  var button = document.getElementById("tip-locate");
  if (!button) return;
  var state = document.getElementById("tip-locate-state");
  var latitude = document.getElementById("tip-latitude");
  var longitude = document.getElementById("tip-longitude");
  var datum = document.getElementById("tip-datum");
  var marker = null;
  var map = null;

  // Typed or located coordinates are WGS84; a point tapped on GCJ-02 tiles is sent as such
  // and brought back to WGS84 by the server.
  function showOnMap(lat, lng) {
    if (!map || isNaN(lat) || isNaN(lng)) return;
    if (marker) { marker.setLatLng([lat, lng]); } else { marker = L.marker([lat, lng]).addTo(map); }
    map.panTo([lat, lng]);
  }

  button.addEventListener("click", function () {
    if (!navigator.geolocation) { state.textContent = button.dataset.failed; return; }
    state.textContent = button.dataset.busy;
    navigator.geolocation.getCurrentPosition(function (position) {
      latitude.value = position.coords.latitude.toFixed(6);
      longitude.value = position.coords.longitude.toFixed(6);
      if (datum) datum.value = "wgs84";
      showOnMap(position.coords.latitude, position.coords.longitude);
      state.textContent = "";
    }, function () { state.textContent = button.dataset.failed; },
    { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
  });
  [latitude, longitude].forEach(function (input) {
    input.addEventListener("input", function () {
      if (datum) datum.value = "wgs84";
      showOnMap(parseFloat(latitude.value), parseFloat(longitude.value));
    });
  });

  var holder = document.getElementById("tip-map");
  var configNode = document.getElementById("tip-map-config");
  if (!holder || !configNode || typeof L === "undefined") {
    if (holder) holder.hidden = true;
    return;
  }
  var config = JSON.parse(configNode.textContent);
  map = L.map(holder, { maxZoom: config.max_zoom, tap: true });
  map.setView(config.centre, Math.min(16, config.max_zoom));
  if (config.tile_url) {
    L.tileLayer(config.tile_url, { maxZoom: config.max_zoom, attribution: config.attribution || "" }).addTo(map);
  }
  // The communities, so the map can be read without tiles too.
  config.communities.forEach(function (c) {
    L.circleMarker([c.lat, c.lng], { radius: 5, color: "#2f6fb3", weight: 1, fillOpacity: 0.4 })
      .bindTooltip(c.name, { permanent: true, direction: "right", className: "map-label" })
      .addTo(map);
  });
  map.on("click", function (event) {
    latitude.value = event.latlng.lat.toFixed(6);
    longitude.value = event.latlng.lng.toFixed(6);
    if (datum) datum.value = config.datum === "gcj02" ? "gcj02" : "wgs84";
    if (marker) { marker.setLatLng(event.latlng); } else { marker = L.marker(event.latlng).addTo(map); }
    state.textContent = holder.dataset.picked;
  });
  if (latitude.value && longitude.value && (!datum || datum.value === "wgs84")) {
    showOnMap(parseFloat(latitude.value), parseFloat(longitude.value));
  }
})();
