// The live parts of the order page and My servers, updated in place (no reload, no framework,
// no inline script: the CSP).
//
// 1. The order page (#order-live) polls its partial (data-poll-url) until a final state. Each
//    answer holds one [data-fill="<id>"] part per box of the page; a part whose content changed
//    replaces the content of the box with that id (the boxes themselves stay, so the
//    aria-live #order-progress is heard). When the server is ready the answer carries Manage
//    and the client area into #order-server, and the live-state poller below starts on it.
// 2. Every [data-live-url] element (on load, or brought in by 1.) polls its JSON live state and
//    updates the badges, the usage line and which power buttons are enabled. The power buttons
//    are plain forms (they post and come back to the page), so they need nothing from here.
(function () {
  "use strict";

  function apply(server) {
    var box = document.querySelector('[data-live-order="' + server.order_id + '"]');
    if (box) {
      var badge = box.querySelector('[data-live="label"]');
      badge.textContent = server.label;
      badge.className = "badge live-" + server.state;
      box.querySelector('[data-live="usage"]').textContent = server.usage_text || "";
      box.querySelector('[data-live="detail"]').textContent = server.detail || "";
      box.setAttribute("data-state", server.state);
    }
    var power = document.querySelector('[data-power-order="' + server.order_id + '"]');
    if (power) {
      power.querySelectorAll("[data-power]").forEach(function (button) {
        var start = button.getAttribute("data-power") === "start";
        button.disabled = start ? !server.can_start : !server.can_stop;
      });
    }
  }

  function startLive(root) {
    if (root.hasAttribute("data-live-started")) return; // one poller per element
    root.setAttribute("data-live-started", "1");
    var url = root.getAttribute("data-live-url");
    var delay = 3000;
    function poll() {
      if (!root.isConnected) return; // swapped out: its replacement has its own poller
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (body) {
          body.servers.forEach(apply);
          delay = 3000;
          setTimeout(poll, delay);
        })
        .catch(function () { delay = Math.min(delay * 2, 30000); setTimeout(poll, delay); });
    }
    setTimeout(poll, delay);
  }

  function startLiveParts(scope) {
    scope.querySelectorAll("[data-live-url]").forEach(startLive);
  }

  function startProgress(live) {
    var url = live.getAttribute("data-poll-url");
    var delay = 1500;
    var shown = {}; // box id -> the HTML it shows now (unchanged parts are left alone)
    Array.prototype.forEach.call(live.children, function (box) { shown[box.id] = box.innerHTML; });

    function fill(html) {
      var answer = document.createElement("template");
      answer.innerHTML = html;
      var parts = answer.content.querySelectorAll("[data-fill]");
      if (!parts.length) throw new Error("not the order's parts"); // e.g. the login page
      parts.forEach(function (part) {
        var id = part.getAttribute("data-fill");
        var box = document.getElementById(id);
        if (!box || shown[id] === part.innerHTML) return;
        box.innerHTML = part.innerHTML;
        shown[id] = box.innerHTML;
      });
      startLiveParts(live);
      return !!answer.content.querySelector("[data-done]");
    }

    function poll() {
      fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin", cache: "no-store" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) {
          delay = 1500;
          if (fill(html)) live.setAttribute("data-done", "1");
          else setTimeout(poll, delay);
        })
        .catch(function () { delay = Math.min(delay * 2, 15000); setTimeout(poll, delay); });
    }
    setTimeout(poll, delay);
  }

  startLiveParts(document);
  var live = document.getElementById("order-live");
  if (live && !live.hasAttribute("data-done")) startProgress(live);
})();
