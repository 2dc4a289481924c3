// The officer's phone: each step goes to the alerts API with an Idempotency-Key of its own.
// Without a network the step waits in localStorage (with its photos) and is sent, in
// order, once the connection returns; the server answers a key it has seen with the
// alert as it is, so a step whose answer was lost on the way is never taken twice.
(function () {
  "use strict";
  var root = document.getElementById("phone");
  if (!root) return;
  var STORE = "zhian.phone.queue";
  var csrf = root.dataset.csrf;
  var flushing = false;

  function load() {
    try { return JSON.parse(localStorage.getItem(STORE) || "[]"); } catch (e) { return []; }
  }
  function save(queue) {
    localStorage.setItem(STORE, JSON.stringify(queue));
    document.getElementById("phone-queue").textContent = String(queue.length);
  }
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function card(alertId) { return document.getElementById("phone-alert-" + alertId); }
  function say(alertId, text, isError) {
    var box = card(alertId);
    if (!box) return;
    var result = box.querySelector(".phone-result");
    result.textContent = text;
    result.classList.toggle("error", !!isError);
  }
  function showOnline() {
    document.getElementById("phone-offline").hidden = navigator.onLine;
  }

  function readPhotos(input) {
    var files = input ? Array.prototype.slice.call(input.files || []) : [];
    return Promise.all(files.map(function (file) {
      return new Promise(function (resolve, reject) {
        var reader = new FileReader();
        reader.onload = function () { resolve({ type: file.type, data: reader.result }); };
        reader.onerror = reject;
        reader.readAsDataURL(file);
      });
    }));
  }
  function position() {
    return new Promise(function (resolve) {
      if (!navigator.geolocation) { resolve(null); return; }
      navigator.geolocation.getCurrentPosition(function (p) {
        resolve({ latitude: p.coords.latitude, longitude: p.coords.longitude });
      }, function () { resolve(null); }, { enableHighAccuracy: true, timeout: 5000, maximumAge: 60000 });
    });
  }

  function post(url, body, headers) {
    headers["X-CSRF-Token"] = csrf;
    return fetch(url, { method: "POST", body: body, headers: headers, credentials: "same-origin" });
  }
  function uploadPhotos(item) {
    // Photos first (content-addressed: sending one twice keeps one file), then the step.
    // Alert steps attach to `attachments`; a patrol report (item.url set) to `photos`.
    var refs = item.url ? item.body.photos || [] : item.body.attachments;
    var photoUrl = item.url ? "/api/v1/patrol/photos" : "/api/v1/alerts/" + item.alertId + "/photos";
    var pending = item.photos.slice(refs.length);
    return pending.reduce(function (chain, photo) {
      return chain.then(function () {
        return fetch(photo.data).then(function (r) { return r.blob(); }).then(function (blob) {
          return post(photoUrl, blob, { "Content-Type": photo.type });
        }).then(function (response) {
          if (response.status >= 500 || response.status === 401 || response.status === 403) {
            throw { retry: true };
          }
          if (!response.ok) throw { refused: response.status };
          return response.json();
        }).then(function (answer) {
          refs.push(answer.ref);
        });
      });
    }, Promise.resolve());
  }
  function sendOne(item) {
    return uploadPhotos(item).then(function () {
      var url = item.url || "/api/v1/alerts/" + item.alertId + "/" + item.action;
      return post(url, JSON.stringify(item.body), {
        "Content-Type": "application/json", "Idempotency-Key": item.key,
      });
    }).then(function (response) {
      // A server failure, or a session to renew (sign in again): kept, sent later.
      if (response.status >= 500 || response.status === 401 || response.status === 403) {
        throw { retry: true };
      }
      return response.json().then(function (answer) { return { ok: response.ok, answer: answer }; });
    });
  }

  function flush() {
    if (flushing) return Promise.resolve();
    flushing = true;
    var queue = load();
    function next() {
      if (!queue.length) return Promise.resolve();
      var item = queue[0];
      return sendOne(item).then(function (result) {
        queue.shift();
        save(queue);
        if (result.ok) {
          var box = card(item.alertId);
          if (box && !item.url) {
            box.dataset.state = result.answer.state;
            box.querySelector(".phone-state").textContent = result.answer.state;
          }
          say(item.alertId, root.dataset.sent + ": " + item.label, false);
        } else {
          // Refused for good (state moved on, not allowed): dropped, and said on the card.
          var error = result.answer.error || {};
          say(item.alertId, root.dataset.refused + ": " + item.label + " — " + (error.message || ""), true);
        }
        return next();
      }, function (failure) {
        if (failure && failure.refused) {
          queue.shift();
          save(queue);
          say(item.alertId, root.dataset.refused + ": " + item.label, true);
          return next();
        }
        save(queue);  // the network is gone (or the server failed): keep it, try again later
      });
    }
    return next().then(function () { flushing = false; }, function () { flushing = false; });
  }

  function queuePatrol(button) {
    // Check-in and report go through the same queue, to the patrol API (docs/phone.md).
    var box = button.closest(".phone-patrol");
    var point = box.querySelector(".patrol-point").value;
    var isReport = button.dataset.patrol === "report";
    var body = isReport
      ? { point_id: point, category: box.querySelector(".patrol-category").value,
          text: box.querySelector(".patrol-text").value, photos: [] }
      : { point_id: point };
    var ready = isReport ? readPhotos(box.querySelector(".patrol-photos")) : Promise.resolve([]);
    Promise.all([ready, position()]).then(function (parts) {
      if (parts[1]) { body.latitude = parts[1].latitude; body.longitude = parts[1].longitude; }
      var queue = load();
      queue.push({ key: newKey(), alertId: "patrol", label: button.textContent, body: body,
                   photos: parts[0], url: isReport ? "/api/v1/patrol/reports" : "/api/v1/patrol/checkins" });
      save(queue);
      if (navigator.onLine) flush();
    });
  }

  root.addEventListener("click", function (event) {
    var patrolButton = event.target.closest("button.patrol-step");
    if (patrolButton) { queuePatrol(patrolButton); return; }
    var button = event.target.closest("button.phone-step");
    if (!button) return;
    var box = button.closest(".phone-alert");
    var action = button.dataset.action;
    var body = { note: "", attachments: [] };
    var photoInput = box.querySelector(".phone-photos");
    var ready = Promise.resolve([]);
    if (action === "handle") {
      body.feedback = box.querySelector(".phone-feedback").value;
      ready = readPhotos(photoInput);
    } else if (action === "close") {
      body.outcome = box.querySelector(".phone-outcome").value;
    }
    var located = action === "arrive" ? position() : Promise.resolve(null);
    Promise.all([ready, located]).then(function (parts) {
      if (parts[1]) { body.latitude = parts[1].latitude; body.longitude = parts[1].longitude; }
      var queue = load();
      queue.push({ key: newKey(), alertId: box.dataset.alertId, action: action,
                   label: button.textContent, body: body, photos: parts[0] });
      save(queue);
      say(box.dataset.alertId, root.dataset.queued || "", false);
      if (navigator.onLine) flush();
    });
  });

  // On duty (opt-in): while the page is open, the position goes to the dispatchers' map
  // every minute; off duty is sent until the server has it (it then deletes the position).
  // A position is of the moment, so it is not queued: a missed one is simply the next.
  var DUTY = "zhian.phone.duty";
  var dutyButton = document.getElementById("patrol-duty");
  function dutyState() { return localStorage.getItem(DUTY) || "off"; }
  function showDuty() {
    if (!dutyButton) return;
    var on = dutyState() === "on";
    dutyButton.textContent = on ? dutyButton.dataset.stop : dutyButton.dataset.start;
    document.getElementById("patrol-duty-state").textContent = on ? dutyButton.dataset.on : "";
  }
  function sendDuty() {
    var state = dutyState();
    if (state === "off-sent") return Promise.resolve();
    var located = state === "on" ? position() : Promise.resolve(null);
    return located.then(function (here) {
      if (state === "on" && !here) return;
      var body = { on_duty: state === "on" };
      if (here) { body.latitude = here.latitude; body.longitude = here.longitude; }
      return post("/api/v1/patrol/duty", JSON.stringify(body), { "Content-Type": "application/json" })
        .then(function (response) {
          if (response.ok && state === "off" && dutyState() === "off") localStorage.setItem(DUTY, "off-sent");
        });
    }).catch(function () {});
  }
  if (dutyButton) {
    dutyButton.addEventListener("click", function () {
      localStorage.setItem(DUTY, dutyState() === "on" ? "off" : "on");
      showDuty();
      sendDuty();
    });
    showDuty();
    sendDuty();
    setInterval(sendDuty, 60000);
  }

  window.addEventListener("online", function () { showOnline(); flush(); sendDuty(); });
  window.addEventListener("offline", showOnline);
  setInterval(function () { if (navigator.onLine) flush(); }, 15000);
  save(load());
  showOnline();
  if (navigator.onLine) flush();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/phone/sw.js", { scope: "/phone" }).catch(function () {});
  }

  // Web Push: subscribe this browser with the node's VAPID key. Where the browser cannot
  // (no HTTPS, no push service reachable, permission refused), the live feed of this page
  // still announces new alerts while it is open.
  var pushButton = document.getElementById("phone-push");
  function keyBytes(text) {
    var raw = atob((text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); });
  }
  if (pushButton && "serviceWorker" in navigator && "PushManager" in window) {
    pushButton.hidden = false;
    pushButton.addEventListener("click", function () {
      var state = document.getElementById("phone-push-state");
      fetch("/api/v1/push/key", { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error("no key");
        return r.json();
      }).then(function (answer) {
        return navigator.serviceWorker.ready.then(function (registration) {
          return registration.pushManager.subscribe({
            userVisibleOnly: true, applicationServerKey: keyBytes(answer.public_key),
          });
        });
      }).then(function (subscription) {
        return post("/api/v1/push/subscriptions", JSON.stringify(subscription.toJSON()),
                    { "Content-Type": "application/json" });
      }).then(function (response) {
        if (!response.ok) throw new Error("refused");
        state.textContent = pushButton.dataset.on;
      }).catch(function () { state.textContent = pushButton.dataset.off; });
    });
  }
})();
