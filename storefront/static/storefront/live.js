// Live server state on My servers and the order page: polls a JSON endpoint and updates the
// badges, the usage line and which power buttons are enabled. No inline script (the CSP).
(function () {
  "use strict";
  var root = document.querySelector("[data-live-url]");
  if (!root) {
    // The order page before the server exists: reload once it is ready, to show the client area.
    var progress = document.getElementById("order-progress");
    if (progress && !progress.hasAttribute("data-done")) {
      new MutationObserver(function () {
        if (progress.querySelector('[data-status="provisioned"]')) window.location.reload();
      }).observe(progress, { childList: true, subtree: true });
    }
    return;
  }
  var url = root.getAttribute("data-live-url");
  var delay = 3000;

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

  function poll() {
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
})();
