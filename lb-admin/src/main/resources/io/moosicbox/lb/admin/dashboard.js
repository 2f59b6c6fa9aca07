// The moosicbox-lb dashboard: polls /api/clusters, derives rates from the counters between two
// polls, and calls the admin API for drain / enable / disable.
"use strict";
(function () {
  const REFRESH_MS = 2000;
  const TOKEN_KEY = "moosicbox-lb-admin-token";
  const previous = new Map(); // "cluster/address" -> {t, counters}
  let lastSample = null;
  const $ = (id) => document.getElementById(id);

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

  $("token").value = token();
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const v = $("token").value.trim();
    if (v) { sessionStorage.setItem(TOKEN_KEY, v); } else { sessionStorage.removeItem(TOKEN_KEY); }
    showMessage(v ? "Token kept for this tab." : "Token cleared.", true);
  });

  function showMessage(text, ok) {
    const m = $("message");
    m.textContent = text;
    m.className = "message" + (ok ? " ok" : "");
    m.hidden = !text;
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null) { continue; }
      if (k === "class") { e.className = v; } else if (k.startsWith("data")) { e.setAttribute(k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase()), v); } else { e[k] = v; }
    }
    for (const c of children) { if (c != null) { e.append(c); } }
    return e;
  }

  function fmtRate(r) { return r == null ? "–" : r < 10 ? r.toFixed(2) : r.toFixed(0); }
  function fmtPct(p) { return p == null ? "–" : (p * 100).toFixed(p < 0.1 ? 1 : 0) + "%"; }
  function fmtMs(s) { return s == null ? "–" : s < 1 ? (s * 1000).toFixed(s < 0.01 ? 1 : 0) + " ms" : s.toFixed(2) + " s"; }

  // Rates over the last poll, per backend; null until two samples exist.
  function rates(b, now) {
    const key = b.cluster + "/" + b.address;
    const before = previous.get(key);
    previous.set(key, { t: now, c: b.counters });
    if (!before || now <= before.t) { return { rate: null, errors: null, latency: null }; }
    const dt = (now - before.t) / 1000;
    const n = b.counters.responses - before.c.responses;
    const e5 = b.counters.responses_5xx - before.c.responses_5xx;
    const sum = b.counters.response_seconds_sum - before.c.response_seconds_sum;
    return { rate: n / dt, errors: n > 0 ? e5 / n : null, latency: n > 0 ? sum / n : null };
  }

  async function act(b, action) {
    const headers = {};
    if (token()) { headers["Authorization"] = "Bearer " + token(); }
    const url = "/api/backends/" + encodeURIComponent(b.address) + "/" + action + "?cluster=" + encodeURIComponent(b.cluster);
    try {
      const r = await fetch(url, { method: "POST", headers });
      const body = await r.json().catch(() => ({}));
      if (r.ok) {
        // An enabled backend that failed the check it gets at once is DOWN: say why.
        const failedCheck = body.state === "DOWN" && body.last_error ? " (" + body.last_error + ")" : "";
        showMessage(action + " " + b.address + " (" + b.cluster + "): " + body.previous_state + " → " + body.state + failedCheck, !failedCheck);
      } else if (r.status === 401) {
        showMessage("This change needs the admin token: type it in the header.", false);
        $("token").focus();
      } else {
        showMessage(action + " " + b.address + " failed: " + r.status + " " + (body.error || ""), false);
      }
    } catch (err) {
      showMessage(action + " " + b.address + " failed: " + err, false);
    }
    refresh();
  }

  function backendRow(b, r) {
    // A backend the configuration no longer names finishes its requests; there is nothing to change on it.
    const buttons = b.retired ? el("td", { class: "actions", dataLabel: "Actions", textContent: "removed, finishing its requests" })
      : el("td", { class: "actions", dataLabel: "Actions" },
        el("button", { type: "button", textContent: "Drain", dataAction: "drain", disabled: b.state === "DRAINING" || b.state === "DRAINED", onclick: () => act(b, "drain") }),
        el("button", { type: "button", textContent: "Enable", dataAction: "enable", disabled: b.state === "UP", onclick: () => act(b, "enable") }),
        el("button", { type: "button", textContent: "Disable", dataAction: "disable", disabled: b.state === "DISABLED", onclick: () => act(b, "disable") }));
    return el("tr", { dataBackend: b.cluster + "/" + b.address, dataRetired: b.retired ? "true" : null },
      el("td", { dataLabel: "Backend" }, el("strong", { textContent: b.address }),
        b.last_error ? el("div", { class: "err", textContent: b.last_error, title: "last error" }) : null),
      el("td", { dataLabel: "State" }, el("span", { class: "state " + b.state, dataState: b.state, textContent: b.state })),
      el("td", { class: "num", dataLabel: "In flight", textContent: String(b.inflight) + (b.max_conns > 0 ? " / " + b.max_conns : "")
        + (b.websocket_sessions > 0 ? " (" + b.websocket_sessions + " ws)" : "") }),
      el("td", { class: "num", dataLabel: "Req/s", textContent: fmtRate(r.rate) }),
      el("td", { class: "num", dataLabel: "5xx", textContent: fmtPct(r.errors) }),
      el("td", { class: "num", dataLabel: "Latency", textContent: fmtMs(r.latency) }),
      el("td", { class: "num", dataLabel: "Weight", textContent: String(b.weight) }),
      el("td", { class: "num", dataLabel: "Failures", textContent: String(b.counters.failures) }),
      buttons);
  }

  function render(clusters, now) {
    let total = 0, up = 0, inflight = 0, rate = 0, n = 0, e5 = 0, latSum = 0, latN = 0, haveRates = false;
    const container = el("div", {});
    for (const c of clusters) {
      const head = el("tr", {}, ...["Backend", "State", "In flight", "Req/s", "5xx", "Latency", "Weight", "Failures", ""]
        .map((h, i) => el("th", { class: i >= 2 && i <= 7 ? "num" : "", textContent: h })));
      const body = el("tbody", {});
      for (const b of c.backends) {
        const r = rates(b, now);
        total++; if (b.state === "UP") { up++; } inflight += b.inflight;
        body.append(backendRow(b, r));
      }
      for (const b of c.leaving || []) {
        inflight += b.inflight;
        body.append(backendRow(b, rates(b, now)));
      }
      // The cluster's own counters also hold the answers no backend gave (503 with every backend out).
      const cr = rates({ cluster: c.name, address: "*", counters: c.counters }, now);
      if (cr.rate != null) {
        haveRates = true; rate += cr.rate;
        const dn = cr.rate * ((now - lastSample) / 1000);
        n += dn; if (cr.errors != null) { e5 += cr.errors * dn; } if (cr.latency != null) { latSum += cr.latency * dn; latN += dn; }
      }
      const routes = (c.hosts || []).join(", ") + " " + (c.paths || []).join(", ");
      container.append(el("section", { class: "cluster", dataCluster: c.name },
        el("h2", {}, c.name, el("small", { textContent: routes }), el("small", { textContent: c.algorithm }),
          el("small", { textContent: c.available_backends + " of " + c.backends.length + " ready" }),
          el("small", { dataRole: "cluster-rate", textContent: fmtRate(cr.rate) + " req/s, " + fmtPct(cr.errors) + " 5xx" })),
        el("table", {}, el("thead", {}, head), body)));
    }
    $("clusters").replaceChildren(container);
    const tile = (v, k) => el("div", { class: "tile" }, el("div", { class: "v", textContent: v }), el("div", { class: "k", textContent: k }));
    $("summary").replaceChildren(
      tile(up + " / " + total, "backends up"),
      tile(String(inflight), "in flight"),
      tile(haveRates ? fmtRate(rate) : "–", "requests/s"),
      tile(haveRates && n > 0 ? fmtPct(e5 / n) : "–", "5xx"),
      tile(latN > 0 ? fmtMs(latSum / latN) : "–", "mean latency"));
  }

  let inFlight = false;
  async function refresh() {
    if (inFlight) { return; }
    inFlight = true;
    try {
      const r = await fetch("/api/clusters", { cache: "no-store" });
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      const clusters = await r.json();
      const now = Date.now();
      render(clusters, now);
      lastSample = now;
      $("status").textContent = "updated " + new Date(now).toLocaleTimeString();
      $("status").className = "status";
    } catch (err) {
      $("status").textContent = "cannot reach the admin API: " + err.message;
      $("status").className = "status error";
    } finally {
      inFlight = false;
    }
  }

  refresh();
  setInterval(refresh, REFRESH_MS);
})();
