// Overview / control plane: services, engines, policy (switch with the admin token),
// queues and live charts, all fed by ONE EventSource on /api/live (1 event per second).
import { api, banner, fmt, h, table } from "../api.js";
import { LineChart } from "../chart.js";

export function mount(root) {
  const status = h("div", { class: "cards", id: "service-cards" });
  const alerts = h("div", { id: "alerts" });
  const policyBox = h("div", { class: "card", id: "policy-card" });
  const engines = h("div", { id: "engines" }, h("p", { class: "muted" }, "waiting for the gateway…"));
  const charts = h("div", { class: "charts", id: "charts" });
  root.append(h("h1", {}, "Control plane"), alerts, status, h("h2", {}, "Policy"), policyBox,
    h("h2", {}, "Engines"), engines, h("h2", {}, "Live"), charts);

  const c = {
    rate: new LineChart(charts, { title: "Requests / s", unit: "req/s" }),
    ttft: new LineChart(charts, { title: "TTFT p50 / p99", unit: "s" }),
    e2e: new LineChart(charts, { title: "End-to-end latency p50 / p99", unit: "s" }),
    slo: new LineChart(charts, { title: "SLO attainment", unit: "share", yMax: 1 }),
    queue: new LineChart(charts, { title: "Queue depth per class", unit: "requests" }),
    prefix: new LineChart(charts, { title: "Prefix-cache hit rate", yMax: 1,
      empty: "no engine reports prefix-cache counters (vLLM does)" }),
  };
  let slo_ms = 1000;
  api("/api/config").then(cfg => { slo_ms = cfg.slo_ms; }).catch(() => {});
  const setPolicy = policyPanel(policyBox);
  const apply = (ev, draw) => {
    const t = ev.t;
    const r = ev.rates || {};
    const z = ev.rates ? 0 : null;  // no figures (gateway down): a gap, not a zero
    c.rate.push(t, { total: r.total ?? z, chat: r.chat ?? z, embedding: r.embedding ?? z,
      "429s": r["429"] ?? z, errors: r.errors ?? z });
    const ttft = {}, e2e = {};
    for (const [label, q] of Object.entries(ev.latency || {})) {
      if (!label.startsWith("embedding")) {
        ttft[`${label} p50`] = q.ttft_p50; ttft[`${label} p99`] = q.ttft_p99;
      }
      e2e[`${label} p50`] = q.e2e_p50; e2e[`${label} p99`] = q.e2e_p99;
    }
    c.ttft.push(t, ttft);
    c.e2e.push(t, e2e);
    const slo = {};
    for (const [tenant, v] of Object.entries(ev.slo || {})) slo[`${tenant} ≤${slo_ms} ms`] = v;
    c.slo.push(t, slo);
    const byKind = ev.queue_by_kind && Object.keys(ev.queue_by_kind).length
      ? ev.queue_by_kind : { all: ev.gateway.up ? ev.queue_depth ?? null : null };
    c.queue.push(t, byKind);
    c.prefix.push(t, ev.prefix_cache_hit_rate || {});
    if (draw) for (const chart of Object.values(c)) chart.draw();
  };

  const source = new EventSource("/api/live");
  source.addEventListener("history", msg => {
    for (const ev of JSON.parse(msg.data).history) apply(ev, false);
    for (const chart of Object.values(c)) chart.draw();
  });
  source.onmessage = msg => {
    const ev = JSON.parse(msg.data);
    apply(ev, true);
    renderServices(status, alerts, ev);
    renderEngines(engines, ev);
    setPolicy(ev.gateway.policy);
    if (!root.dataset.painted) { root.dataset.painted = "1"; performance.mark("sage-meaningful"); }
  };
  source.onerror = () => {
    alerts.replaceChildren(banner("lost the studio's live feed; reconnecting…"));
  };
  const onResize = () => { for (const chart of Object.values(c)) chart.draw(); };
  window.addEventListener("resize", onResize);
  return () => { source.close(); window.removeEventListener("resize", onResize); };
}

function renderServices(box, alerts, ev) {
  const gw = ev.gateway, jm = ev.jobmanager;
  const engines = gw.engines || [];
  const healthy = engines.filter(e => e.healthy).length;
  const card = (label, value, cls, sub) =>
    h("div", { class: "card" }, h("div", { class: "label" }, label),
      h("div", { class: `value ${cls || ""}` }, value), sub ? h("div", { class: "muted" }, sub) : null);
  const r = ev.rates || {};
  box.replaceChildren(
    card("gateway", gw.up ? (gw.status || "up") : "down", gw.up ? (gw.status === "ok" ? "up" : "warn") : "down", gw.url),
    card("job manager", jm.up ? "up" : "down", jm.up ? "up" : "down", jm.url),
    card("engines healthy", gw.up ? `${healthy} / ${engines.length}` : "–", healthy ? "up" : "down"),
    card("queue depth", gw.up ? fmt(ev.queue_depth ?? 0, 0) : "–", "",
      ev.queue_by_kind && Object.keys(ev.queue_by_kind).length
        ? Object.entries(ev.queue_by_kind).map(([k, v]) => `${k} ${v}`).join(" · ") : null),
    card("requests / s", fmt(r.total ?? 0, 1), "", `429/s ${fmt(r["429"] ?? 0, 1)} · errors/s ${fmt(r.errors ?? 0, 1)}`),
  );
  const problems = [];
  if (!gw.up) problems.push(banner(`The gateway at ${gw.url} is down (start it with \`sage llm serve\`).`));
  if (!jm.up) problems.push(banner(`The job manager at ${jm.url} is down (start it with \`sage jobmanager start\`).`));
  alerts.replaceChildren(...problems);
}

function renderEngines(box, ev) {
  const engines = ev.gateway.engines || [];
  if (!ev.gateway.up) { box.replaceChildren(h("p", { class: "muted" }, "gateway down: no engines to show")); return; }
  box.replaceChildren(table([
    { label: "engine", value: e => e.id },
    { label: "kind", value: e => (e.kinds || []).join(", ") },
    { label: "model", value: e => (e.models || []).join(", ") },
    { label: "url", value: e => e.url || "" },
    { label: "health", value: e => h("span", { class: e.healthy ? "up" : "down" }, e.healthy ? "healthy" : "down") },
    { label: "in flight / capacity", num: true, value: e => `${e.in_flight} / ${e.capacity}` },
    { label: "max batch", num: true, value: e => e.max_batch },
    { label: "failures", num: true, value: e => e.failures ?? 0 },
    { label: "restarts", num: true, value: e => e.restarts ?? 0 },
    { label: "prefix hit", num: true, value: e => fmt((ev.prefix_cache_hit_rate || {})[e.id]) },
  ], engines));
}

// The policy card is built once; a policy change (from any client) only updates it, so
// a user picking a policy never has the select replaced under them.
function policyPanel(box) {
  const name = h("b", { id: "policy-name" }, "…");
  const select = h("select", { id: "policy-select" });
  const msg = h("span", { class: "muted", id: "policy-msg" });
  const options = h("div", { class: "muted", id: "policy-options" });
  const button = h("button", { id: "policy-apply", onclick: async () => {
    button.disabled = true;
    try {
      const res = await api("/api/policy", { method: "POST", body: { name: select.value }, admin: true });
      msg.textContent = `switched to ${res.name}`;
      msg.className = "up";
      update(res.name);
    } catch (err) {
      msg.textContent = err.status === 401 || err.status === 403
        ? `${err.message} — paste the admin token (top right)` : err.message;
      msg.className = "down";
    } finally { button.disabled = false; }
  } }, "switch");
  box.replaceChildren(h("div", { class: "row" }, h("span", {}, "active: ", name), select, button, msg), options);

  const load = async () => {
    try {
      const view = await api("/api/policy", { admin: true });
      const available = view.available || [];
      if (select.options.length < available.length) {  // first load, or after a fallback
        const picked = select.options.length ? select.value : view.name;
        select.replaceChildren(...available.map(p => h("option", { value: p }, p)));
        select.value = picked;
      }
      const extra = Object.entries(view).filter(([k]) => !["name", "available"].includes(k));
      options.textContent = extra.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(" · ");
    } catch (err) {
      options.textContent = err.down ? "gateway down" : `choices need the admin token (${err.message})`;
    }
  };
  let current = null;
  const update = policy => {
    if (!policy || policy === current) return;
    current = policy;
    name.textContent = policy;
    if (!select.options.length) select.append(h("option", { value: policy }, policy));
    load();
  };
  load();
  return update;
}
