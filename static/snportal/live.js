/* Live updates for server-rendered pages (no polling).
 *
 * A page marks the region it wants kept fresh with data-live-topics="node,job:12" and
 * data-live-refresh="<url of its partial>". This script asks the web process for a short
 * ticket, opens the console server's /ws/events socket, subscribes to those keys and, on
 * each event: updates elements that name the node or job (data-node-status, data-job-...)
 * at once, and re-renders the region at most once a second (htmx GET of the partial).
 * Once subscribed (first connect or after a console-server restart) the region re-renders
 * once, so nothing that changed before the subscription is missed: that is the resync.
 */
(function () {
  "use strict";
  const first = document.querySelector("[data-live-topics]");
  if (!first) return;
  const regionId = first.id;
  const stateEl = document.querySelector("[data-live-state]");
  const keys = first.dataset.liveTopics.split(",").map((s) => s.trim()).filter(Boolean);
  const ticketUrl = document.body.dataset.liveTicket;
  let timer = null;
  let attempt = 0;

  function setState(text, cls) {
    if (!stateEl) return;
    stateEl.textContent = "live updates: " + text;
    stateEl.className = "small " + (cls || "text-secondary");
  }

  // Re-render the region from the page's own URL (or data-live-refresh): the server renders,
  // htmx swaps just the region (by id) in place.
  function refresh(delay) {
    if (timer) return;
    timer = setTimeout(function () {
      timer = null;
      const region = document.getElementById(regionId);
      if (region.dataset.liveRefresh === "none") return; // in-place updates only (the wall)
      const url = region.dataset.liveRefresh || window.location.pathname + window.location.search;
      htmx.ajax("GET", url, { target: "#" + regionId, select: "#" + regionId, swap: "outerHTML" });
    }, delay === undefined ? 1000 : delay);
  }

  function apply(ev) {
    document.dispatchEvent(new CustomEvent("snportal:event", { detail: ev }));
    if (ev.topic === "resync") return refresh(0);
    if (ev.topic === "node" && ev.status !== null && ev.status !== undefined) {
      document.querySelectorAll('[data-node-status="' + CSS.escape(ev.node) + '"]').forEach(function (el) {
        el.textContent = ev.status || "unknown";
        el.dataset.status = ev.status;
      });
      if (ev.prev !== ev.status) {
        const from = document.querySelector('[data-status-count="' + (ev.prev || "unknown") + '"]');
        const to = document.querySelector('[data-status-count="' + (ev.status || "unknown") + '"]');
        if (from && ev.prev !== null && ev.prev !== undefined) from.textContent = Math.max(0, parseInt(from.textContent, 10) - 1);
        if (to) to.textContent = parseInt(to.textContent, 10) + 1;
      }
    }
    if (ev.topic === "joblog") {
      const logEl = document.querySelector('[data-job-log="' + ev.job + '"]');
      if (logEl) {
        const atBottom = logEl.scrollTop + logEl.clientHeight >= logEl.scrollHeight - 4;
        logEl.textContent += ev.line;
        if (atBottom) logEl.scrollTop = logEl.scrollHeight;
      }
      return;
    }
    refresh();
  }

  function connect() {
    setState("connecting…");
    fetch(ticketUrl, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("ticket " + r.status); return r.json(); })
      .then(function (data) {
        const ws = new WebSocket(data.url);
        ws.onopen = function () {
          ws.send(JSON.stringify({ subscribe: keys }));
          setState("on", "text-success");
          // Whatever changed between the server rendering this page and the subscription
          // (or while disconnected) came before we listened: re-render once to catch up.
          refresh(300);
          attempt = 0;
        };
        ws.onmessage = function (m) { try { apply(JSON.parse(m.data)); } catch (e) { /* not JSON */ } };
        ws.onclose = retry;
      })
      .catch(retry);
  }

  function retry() {
    attempt += 1;
    const wait = Math.min(30000, 500 * Math.pow(2, attempt)) * (0.5 + Math.random());
    setState("reconnecting in " + Math.round(wait / 1000) + " s", "text-warning");
    setTimeout(connect, wait);
  }

  connect();
})();
