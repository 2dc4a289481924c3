// The phone's service worker (scope /phone): keeps the page and its assets so the app
// opens without a network. The page is fetched fresh whenever the network answers; the
// assets are answered from the cache. Steps are never sent from here: the page's queue
// does that (static/phone.js).
"use strict";
var CACHE = "zhian-phone-v1";
var ASSETS = ["/phone", "/static/app.css", "/static/app.js", "/static/phone.js",
              "/static/vendor/htmx/htmx.min.js", "/static/vendor/htmx-ext-sse/sse.min.js"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(ASSETS); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== CACHE; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === "/phone") {
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put("/phone", copy); });
      }
      return response;
    }).catch(function () { return caches.match("/phone"); }));
  } else if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(caches.match(request).then(function (hit) { return hit || fetch(request); }));
  }
});

// Web Push: a new alert for this user (encrypted by the node, decrypted by the browser).
self.addEventListener("push", function (event) {
  var message = {};
  try { message = event.data ? event.data.json() : {}; } catch (e) { message = {}; }
  var english = (self.navigator.language || "").indexOf("zh") !== 0;
  var title = english ? (message.title_en || "New alert") : (message.title_zh || "新预警");
  // A dispatch to this user and an escalation say so before the alert's title.
  if (message.type === "alert.dispatched") { title = (english ? "Dispatched to you: " : "派给你：") + title; }
  if (message.type === "alert.escalated") { title = (english ? "Escalated (deadline missed): " : "超时升级：") + title; }
  event.waitUntil(self.registration.showNotification(title, {
    body: english ? "Zhian · tap to open" : "治安 · 点击查看",
    tag: "alert-" + (message.alert_id || ""),
    data: { url: message.url || "/phone" },
    requireInteraction: message.tier === "major",
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || "/phone";
  event.waitUntil(self.clients.openWindow(url));
});
