// The trajectory page (轨迹): the passages as a line on a map, and a playback that moves a
// marker from passage to passage in time order.
(function () {
  "use strict";
  var holder = document.getElementById("traj-map");
  var data = document.getElementById("traj-points");
  if (!holder || !data || typeof L === "undefined") { return; }
  var points = JSON.parse(data.textContent);
  if (!points.length) { return; }
  var map = L.map(holder);
  if (holder.dataset.tiles) {
    L.tileLayer(holder.dataset.tiles, { attribution: holder.dataset.attribution || "" }).addTo(map);
  }
  var line = L.polyline(points.map(function (p) { return [p.lat, p.lon]; }), { color: "#1f5fbf" }).addTo(map);
  points.forEach(function (p, i) {
    L.circleMarker([p.lat, p.lon], { radius: 4 }).bindTooltip((i + 1) + " · " + p.device + " · " + p.time).addTo(map);
  });
  map.fitBounds(line.getBounds(), { padding: [20, 20], maxZoom: 17 });
  var marker = L.circleMarker([points[0].lat, points[0].lon], { radius: 8, color: "#b3261e" }).addTo(map);
  var timer = null;
  document.getElementById("traj-play").addEventListener("click", function () {
    if (timer) { clearInterval(timer); }
    var i = 0;
    timer = setInterval(function () {
      var p = points[i];
      marker.setLatLng([p.lat, p.lon]).bindTooltip((i + 1) + " · " + p.device + " · " + p.time).openTooltip();
      holder.dataset.step = String(i + 1);
      i += 1;
      if (i >= points.length) { clearInterval(timer); timer = null; }
    }, 800);
  });
  holder.dataset.ready = "1";
})();
