// Benchmarks: the runs under results/ (serving serve/compare/simulate, agent, validation),
// one run's table, report and plots, or two runs side by side.
import { api, banner, h, table, when } from "../api.js";

export function mount(root, arg) {
  const [mode, ...paths] = (arg || "").split("|");
  if (mode === "run" && paths[0]) return showRuns(root, [paths[0]]);
  if (mode === "compare" && paths.length === 2) return showRuns(root, paths);
  return listRuns(root);
}

function runLink(path) { return `#/benchmarks/run|${encodeURIComponent(path)}`; }

function listRuns(root) {
  const body = h("div", { id: "runs" }, h("p", { class: "muted" }, "loading…"));
  const picked = [];
  const compare = h("button", { id: "compare", disabled: true, onclick: () => {
    location.hash = `#/benchmarks/compare|${picked.map(encodeURIComponent).join("|")}`;
  } }, "compare the two selected");
  root.append(h("h1", {}, "Benchmarks"), h("div", { class: "row" }, compare,
    h("span", { class: "muted" }, "pick two runs to see them side by side")), body);
  (async () => {
    try {
      const res = await api("/api/bench/runs");
      if (!res.runs.length) {
        body.replaceChildren(h("p", { class: "muted" }, `no runs in ${res.results_dir} yet: run `,
          h("code", {}, "sage bench compare"), ", ", h("code", {}, "sage bench simulate"), " or ", h("code", {}, "sage bench agent"), "."));
        return;
      }
      body.replaceChildren(h("p", { class: "muted" }, res.results_dir), table([
        { label: "", value: r => h("input", { type: "checkbox", "data-run": r.path, onchange: ev => {
          if (ev.target.checked) picked.push(r.path); else picked.splice(picked.indexOf(r.path), 1);
          if (picked.length > 2) { const old = picked.shift(); body.querySelector(`[data-run="${CSS.escape(old)}"]`).checked = false; }
          compare.disabled = picked.length !== 2;
        } }) },
        { label: "kind", value: r => h("span", { class: "pill" }, r.kind) },
        { label: "run", value: r => h("a", { href: runLink(r.path) }, r.path) },
        { label: "title", value: r => r.title },
        { label: "when", value: r => when(r.mtime) },
        { label: "report", value: r => r.report ? h("a", { href: `/results/${r.report}`, target: "_blank" }, "report.html") : "–" },
      ], res.runs));
    } catch (err) { body.replaceChildren(banner(err.message)); }
  })();
}

function showRuns(root, paths) {
  const cols = h("div", { class: paths.length === 2 ? "grid2" : "", id: "run-columns" });
  root.append(h("p", {}, h("a", { href: "#/benchmarks" }, "← all runs")),
    h("h1", {}, paths.length === 2 ? "Side by side" : paths[0]), cols);
  for (const path of paths) {
    const col = h("div", { class: "run" }, h("p", { class: "muted" }, "loading…"));
    cols.append(col);
    api(`/api/bench/summary?path=${encodeURIComponent(path)}`).then(s => {
      const keys = [...new Set(s.rows.flatMap(r => Object.keys(r)))].filter(k => typeof s.rows[0][k] !== "object");
      col.replaceChildren(h("h2", {}, `${s.title} `, h("span", { class: "pill" }, s.kind)),
        h("p", { class: "muted" }, path),
        s.rows.length ? h("div", { style: "overflow:auto" }, table(keys.map(k => ({
          label: k, num: typeof s.rows[0][k] === "number",
          value: r => (typeof r[k] === "number" ? +r[k].toFixed(4) : String(r[k] ?? "")),
        })), s.rows)) : null,
        ...(s.notes || []).map(n => h("p", { class: "muted" }, n)));
      return api("/api/bench/runs").then(res => {
        const run = res.runs.find(r => r.path === path);
        if (!run) return;
        if (run.report) col.append(h("h2", {}, "report"), h("iframe", { src: `/results/${run.report}`, title: `${path} report` }));
        const plots = run.files.filter(f => /\.(png|svg)$/.test(f));
        if (plots.length && !run.report) col.append(h("div", { class: "plots" }, plots.map(f => h("img", { src: `/results/${f}`, alt: f }))));
        col.append(h("p", {}, run.files.map(f => [h("a", { href: `/results/${f}`, target: "_blank" }, f.split("/").pop()), " "])));
      });
    }).catch(err => col.replaceChildren(banner(err.message)));
  }
}
