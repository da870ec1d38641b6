/* Live updates for server-rendered pages (no polling).
 *
 * A page marks the region it wants kept fresh with data-live-topics="node,job:12" and
 * data-live-refresh="<url of its partial>". This script asks the web process for a short
 * ticket, opens the console server's /ws/events socket, subscribes to those keys and, on
 * each event: updates elements that name the node or job (data-node-status,
 * data-node-power, data-job-...) at once, and re-renders the region at most once a second.
 * Once subscribed (first connect or after a console-server restart) the region re-renders
 * once, so nothing that changed before the subscription is missed: that is the resync.
 *
 * A re-render never replaces the region: the new HTML is morphed into the page node by node
 * (rows matched by id or data-key), so what the operator is doing survives every update:
 * ticked checkboxes and select-all, the focused input and the text typed into it, the
 * caret, the page's and each box's scroll position. A browser keeps a form control's state
 * once the user changed it, whatever its attributes say; morphing only updates attributes
 * and text, so the user's state wins.
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

  // What identifies an element across renders: its id, data-key (table rows), or for a
  // checkbox/radio its name and value. Unkeyed elements match by position and tag.
  function keyOf(node) {
    if (node.nodeType !== 1) return null;
    if (node.id) return "#" + node.id;
    if (node.dataset.key) return "k:" + node.dataset.key;
    if (node.tagName === "INPUT" && (node.type === "checkbox" || node.type === "radio") && node.name) {
      return "i:" + node.name + "=" + node.value;
    }
    return null;
  }

  function morphAttributes(to, from) {
    for (const attr of Array.from(to.attributes)) {
      if (!from.hasAttribute(attr.name)) to.removeAttribute(attr.name);
    }
    for (const attr of Array.from(from.attributes)) {
      if (to.getAttribute(attr.name) !== attr.value) to.setAttribute(attr.name, attr.value);
    }
  }

  function morph(to, from) {
    if (to.nodeType !== 1) {
      if (to.nodeValue !== from.nodeValue) to.nodeValue = from.nodeValue;
      return;
    }
    morphAttributes(to, from);
    morphChildren(to, from);
  }

  function morphChildren(to, from) {
    let cursor = to.firstChild;
    for (const incoming of Array.from(from.childNodes)) {
      const key = keyOf(incoming);
      let match = null;
      if (key) {
        for (let n = cursor; n; n = n.nextSibling) {
          if (keyOf(n) === key) { match = n; break; }
        }
      } else if (cursor && cursor.nodeName === incoming.nodeName && !keyOf(cursor)) {
        match = cursor;
      }
      if (match) {
        if (match === cursor) cursor = cursor.nextSibling;
        else to.insertBefore(match, cursor);
        morph(match, incoming);
      } else {
        to.insertBefore(document.importNode(incoming, true), cursor);
      }
    }
    while (cursor) {
      const next = cursor.nextSibling;
      to.removeChild(cursor);
      cursor = next;
    }
  }

  // Re-render the region from the page's own URL (or data-live-refresh): the server renders
  // the page and the region is morphed into place (see the top of this file).
  function refresh(delay) {
    if (timer) return;
    timer = setTimeout(function () {
      timer = null;
      const region = document.getElementById(regionId);
      if (region.dataset.liveRefresh === "none") return; // in-place updates only (the wall)
      const url = region.dataset.liveRefresh || window.location.pathname + window.location.search;
      fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
        .then(function (r) { if (!r.ok) throw new Error("refresh " + r.status); return r.text(); })
        .then(function (html) {
          const fresh = new DOMParser().parseFromString(html, "text/html").getElementById(regionId);
          const current = document.getElementById(regionId);
          if (!fresh || !current) return;
          morph(current, fresh);
        })
        .catch(function () { /* the next event or the resync after a reconnect tries again */ });
    }, delay === undefined ? 1000 : delay);
  }

  const POWER_BADGE = { on: "text-bg-success", off: "text-bg-secondary" };

  // The power cell as the node list renders it (the time since the change is dropped: "now").
  function showPower(el, power) {
    const badge = document.createElement("span");
    badge.className = POWER_BADGE[power] ? "badge " + POWER_BADGE[power] : "text-secondary";
    badge.textContent = POWER_BADGE[power] ? power : "?";
    el.replaceChildren(badge);
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
    if (ev.topic === "node" && ev.power) {
      document.querySelectorAll('[data-node-power="' + CSS.escape(ev.node) + '"]').forEach(function (el) {
        showPower(el, ev.power);
      });
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
