// Jobs: the list (status, stop, delete) and one job's page: its pipeline graph with
// live per-operator counters, and its log (tail, then follow), fed by one EventSource.
import { api, banner, fmt, h, table, when } from "../api.js";

const SVG = "http://www.w3.org/2000/svg";
const TERMINAL = ["succeeded", "failed", "stopped"];

export function mount(root, jobId) {
  return jobId ? mountJob(root, jobId) : mountList(root);
}

function actions(job, after) {
  const msg = h("span", { class: "down" });
  const act = (label, cls, method, path) => h("button", { class: cls, "data-action": label,
    disabled: label === "stop" ? TERMINAL.includes(job.status) : !TERMINAL.includes(job.status),
    onclick: async () => {
      try { await api(path, { method, admin: true }); after(); } catch (err) { msg.textContent = err.message; }
    } }, label);
  return h("span", { class: "row" },
    act("stop", "secondary", "POST", `/api/jobs/${job.id}/stop`),
    act("delete", "danger", "DELETE", `/api/jobs/${job.id}`), msg);
}

function mountList(root) {
  const body = h("div", { id: "jobs" }, h("p", { class: "muted" }, "loading…"));
  root.append(h("h1", {}, "Jobs"), h("p", { class: "muted" },
    "Submit with ", h("code", {}, "sage job submit -- python my_pipeline.py"), "."), body);
  const refresh = async () => {
    try {
      const jobs = (await api("/api/jobs")).slice().reverse();
      body.replaceChildren(jobs.length ? table([
        { label: "job", value: j => h("a", { href: `#/jobs/${encodeURIComponent(j.id)}` }, j.id) },
        { label: "name", value: j => j.name },
        { label: "status", value: j => h("span", { class: `pill ${j.status}` }, j.status) },
        { label: "backend", value: j => j.backend },
        { label: "submitted", value: j => when(j.submitted_at) },
        { label: "duration", num: true, value: j => duration(j) },
        { label: "", value: j => actions(j, refresh) },
      ], jobs) : h("p", { class: "muted" }, "no jobs yet"));
    } catch (err) {
      body.replaceChildren(banner(err.down ? `${err.message} — start it with \`sage jobmanager start\`` : err.message));
    }
  };
  refresh();
  const timer = setInterval(refresh, 2000);
  return () => clearInterval(timer);
}

function duration(j) {
  if (!j.started_at) return "–";
  return `${((j.ended_at || Date.now() / 1000) - j.started_at).toFixed(1)} s`;
}

function mountJob(root, jobId) {
  const head = h("div", { id: "job-head" });
  const alerts = h("div");
  const graphBox = h("div", { id: "graph" }, h("p", { class: "muted" }, "waiting for the pipeline graph…"));
  const counters = h("div", { id: "counters" });
  const follow = h("input", { type: "checkbox", id: "follow", checked: true });
  const log = h("pre", { class: "log", id: "log" });
  root.append(h("p", {}, h("a", { href: "#/jobs" }, "← all jobs")), head, alerts,
    h("h2", {}, "Pipeline"), graphBox, counters,
    h("h2", {}, "Log ", h("label", { class: "muted" }, follow, " follow")), log);
  const rates = new Rates();
  let lastStatus = null;
  const source = new EventSource(`/api/jobs/${encodeURIComponent(jobId)}/stream`);
  source.onmessage = msg => {
    const ev = JSON.parse(msg.data);
    if (ev.error) {
      alerts.replaceChildren(banner(ev.error));
      if (ev.status === 404) source.close();
      return;
    }
    alerts.replaceChildren();
    const job = ev.job;
    if (job.status !== lastStatus) { lastStatus = job.status; renderHead(head, job); }
    if (ev.graph) renderPipelines(graphBox, counters, ev.graph, rates);
    else if (TERMINAL.includes(job.status) || Date.now() / 1000 - (job.started_at || 0) > 10) {
      graphBox.replaceChildren(h("p", { class: "muted" }, "no pipeline graph: only SAGE pipelines "
        + "of local jobs report one (this job has not, or has not yet)"));
    }
    if (ev.log) {
      log.append(ev.log);
      if (follow.checked) log.scrollTop = log.scrollHeight;
    }
  };
  return () => source.close();
}

function renderHead(box, job) {
  box.replaceChildren(h("h1", {}, `${job.name} `, h("span", { class: `pill ${job.status}`, id: "job-status" }, job.status)),
    h("div", { class: "row muted" },
      h("span", {}, job.id), h("code", {}, (job.entrypoint || []).join(" ")),
      job.interpreter ? h("span", {}, `python: ${job.interpreter}`) : null,
      h("span", {}, `submitted ${when(job.submitted_at)}`), job.message ? h("span", {}, job.message) : null,
      actions(job, () => { location.hash = "#/jobs"; })));
}

// records/s per operator from the difference between two updates
class Rates {
  constructor() { this.prev = new Map(); }
  rate(key, count, t) {
    const p = this.prev.get(key);
    this.prev.set(key, { count, t });
    if (!p || t <= p.t) return null;
    return (count - p.count) / (t - p.t);
  }
}

function renderPipelines(box, counters, graph, rates) {
  box.replaceChildren();
  counters.replaceChildren();
  for (const p of graph.pipelines || []) {
    const ops = (p.metrics && p.metrics.operators) || {};
    const peaks = (p.metrics && p.metrics.channel_peaks) || {};
    const cap = p.channel_capacity || 0;
    const t = p.updated_at || graph.updated_at;
    const rows = [];
    for (const stage of p.plan.stages) {
      const peak = Math.max(0, ...stage.operators.length ? Object.entries(peaks)
        .filter(([k]) => k.startsWith(`${stage.name}[`)).map(([, v]) => v) : [0]);
      for (const op of stage.operators) {
        const m = ops[op] || { records_in: 0, records_out: 0, skipped: 0, dead_lettered: 0 };
        rows.push({ stage: stage.name, op, parallelism: stage.parallelism, ...m,
          rate: rates.rate(`${p.job}/${op}`, m.records_out, t), peak, cap });
      }
    }
    box.append(h("div", { class: "row" }, h("b", {}, p.job), h("span", { class: `pill ${p.status}` }, p.status),
      p.error ? h("span", { class: "down" }, p.error) : null), drawGraph(p, rows));
    counters.append(table([
      { label: "operator", value: r => r.op },
      { label: "stage", value: r => r.stage },
      { label: "parallelism", num: true, value: r => r.parallelism },
      { label: "records in", num: true, value: r => h("span", { "data-op": r.op, "data-field": "in" }, r.records_in) },
      { label: "records out", num: true, value: r => h("span", { "data-op": r.op, "data-field": "out" }, r.records_out) },
      { label: "out / s", num: true, value: r => fmt(r.rate, 1) },
      { label: "inbox peak / capacity (backpressure)", num: true, value: r => `${r.peak} / ${r.cap}` },
      { label: "skipped", num: true, value: r => r.skipped },
      { label: "dead letters", num: true, value: r => r.dead_lettered },
    ], rows));
  }
}

// Stages laid out left to right by their longest path from a source; edges as curves.
function drawGraph(p, rows) {
  const stages = p.plan.stages, edges = p.plan.edges;
  const layer = new Map(stages.map(s => [s.name, 0]));
  for (let pass = 0; pass < stages.length; pass++) {
    for (const e of edges) if (!e.feedback) layer.set(e.dst, Math.max(layer.get(e.dst), layer.get(e.src) + 1));
  }
  const byOp = new Map(rows.map(r => [r.op, r]));
  const W = 200, GAP = 70, LINE = 15;
  const pos = new Map();
  const columns = new Map();
  for (const s of stages) {
    const l = layer.get(s.name);
    const y = columns.get(l) || 10;
    const hgt = 26 + s.operators.length * LINE * 2;
    pos.set(s.name, { x: 10 + l * (W + GAP), y, w: W, h: hgt });
    columns.set(l, y + hgt + 18);
  }
  const width = 20 + (Math.max(...layer.values()) + 1) * (W + GAP);
  const height = Math.max(...columns.values()) + 10;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "graph");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.style.maxHeight = `${Math.max(height, 120)}px`;
  const el = (tag, attrs, text) => {
    const n = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    return n;
  };
  for (const e of edges) {
    const a = pos.get(e.src), b = pos.get(e.dst);
    if (!a || !b) continue;
    const x1 = a.x + a.w, y1 = a.y + a.h / 2, x2 = b.x, y2 = b.y + b.h / 2;
    const d = e.feedback ? `M${a.x + a.w / 2},${a.y} C${a.x + a.w / 2},${a.y - 30} ${b.x + b.w / 2},${b.y - 30} ${b.x + b.w / 2},${b.y}`
      : `M${x1},${y1} C${x1 + GAP / 2},${y1} ${x2 - GAP / 2},${y2} ${x2 - 4},${y2}`;
    svg.append(el("path", { d, "stroke-dasharray": e.feedback || e.dead_letter ? "4 3" : "none",
      "marker-end": "url(#arrow)" }));
    svg.append(el("text", { x: (x1 + x2) / 2 - 14, y: (y1 + y2) / 2 - 4 }, e.dead_letter ? "dead letters" : e.strategy));
  }
  const defs = el("defs", {});
  const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 8, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" });
  marker.append(el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#7a8796" }));
  defs.append(marker);
  svg.prepend(defs);
  for (const s of stages) {
    const q = pos.get(s.name);
    const ops = s.operators.map(o => byOp.get(o)).filter(Boolean);
    const pressured = ops.some(r => r.cap && r.peak >= r.cap);
    const errors = ops.some(r => r.skipped || r.dead_lettered);
    const g = el("g", { class: `node${pressured ? " backpressure" : ""}${errors ? " errors" : ""}`, "data-stage": s.name });
    g.append(el("rect", { x: q.x, y: q.y, width: q.w, height: q.h, rx: 6 }));
    g.append(el("text", { class: "title", x: q.x + 8, y: q.y + 16 }, `${s.name} ×${s.parallelism}`));
    s.operators.forEach((o, i) => {
      const r = byOp.get(o) || {};
      const y = q.y + 32 + i * LINE * 2;
      g.append(el("text", { x: q.x + 8, y }, o));
      g.append(el("text", { x: q.x + 8, y: y + LINE - 2, "data-op": o },
        `in ${r.records_in ?? 0} · out ${r.records_out ?? 0} · ${fmt(r.rate, 1)}/s${r.dead_lettered ? ` · dlq ${r.dead_lettered}` : ""}`));
    });
    svg.append(g);
  }
  return svg;
}
