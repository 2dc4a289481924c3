// The tip form: fill the place from the phone's location (the page works without it).
(function () {
  "use strict";
  var button = document.getElementById("tip-locate");
  if (!button) return;
  var state = document.getElementById("tip-locate-state");
  button.addEventListener("click", function () {
    if (!navigator.geolocation) { state.textContent = button.dataset.failed; return; }
    state.textContent = button.dataset.busy;
    navigator.geolocation.getCurrentPosition(function (position) {
      document.getElementById("tip-latitude").value = position.coords.latitude.toFixed(6);
      document.getElementById("tip-longitude").value = position.coords.longitude.toFixed(6);
      state.textContent = "";
    }, function () { state.textContent = button.dataset.failed; },
    { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
  });
})();
