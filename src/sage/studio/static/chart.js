// A tiny canvas line chart for live series (no library): push(t, {series: value}),
// keeps the last `points` samples, autoscaled y axis, legend, HiDPI aware.
// canvas.dataset.updates counts pushes (the browser tests watch it move).

const COLORS = ["#1f6fb2", "#d35400", "#1f8a4c", "#8e44ad", "#c0392b", "#16a085",
  "#7f8c8d", "#b9770e", "#2c3e50", "#e84393"];

export class LineChart {
  constructor(parent, { title, unit = "", points = 120, yMax = null, format = null, empty = "" }) {
    this.unit = unit;
    this.empty = empty;
    this.points = points;
    this.yMax = yMax;
    this.format = format || (v => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(2)));
    this.times = [];
    this.series = new Map();  // name -> array aligned with times (null = gap)
    this.box = document.createElement("div");
    this.box.className = "chart";
    const head = document.createElement("h3");
    head.textContent = unit ? `${title} (${unit})` : title;
    this.canvas = document.createElement("canvas");
    this.canvas.dataset.updates = "0";
    this.canvas.setAttribute("aria-label", title);
    this.box.append(head, this.canvas);
    parent.append(this.box);
  }

  push(t, values) {
    this.times.push(t);
    for (const name of Object.keys(values)) {
      if (!this.series.has(name)) this.series.set(name, new Array(this.times.length - 1).fill(null));
    }
    for (const [name, arr] of this.series) {
      const v = values[name];
      arr.push(v === undefined || v === null || Number.isNaN(v) ? null : v);
    }
    if (this.times.length > this.points) {
      this.times.shift();
      for (const arr of this.series.values()) arr.shift();
    }
    this.canvas.dataset.updates = String(Number(this.canvas.dataset.updates) + 1);
  }

  draw() {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth, hgt = c.clientHeight;
    if (!w || !hgt) return;
    if (c.width !== w * dpr || c.height !== hgt * dpr) { c.width = w * dpr; c.height = hgt * dpr; }
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, hgt);
    g.font = "11px system-ui, sans-serif";
    // legend entries ("name last-value"), wrapped into rows under the plot
    const entries = [...this.series].map(([name, arr], i) => {
      const last = [...arr].reverse().find(v => v !== null);
      const label = `${name} ${last === undefined ? "–" : this.format(last)}`;
      return { label, color: COLORS[i % COLORS.length], width: g.measureText(label).width + 26 };
    });
    const rows = [];
    for (const e of entries) {
      const row = rows[rows.length - 1];
      if (row && row.width + e.width <= w - 46) { row.items.push(e); row.width += e.width; }
      else rows.push({ items: [e], width: e.width });
    }
    const left = 46, right = 8, top = 8, bottom = 22 + 13 * Math.max(1, rows.length);
    const pw = w - left - right, ph = hgt - top - bottom;
    let max = this.yMax;
    if (max === null) {
      max = 0;
      for (const arr of this.series.values()) for (const v of arr) if (v !== null && v > max) max = v;
      max = max > 0 ? niceCeil(max * 1.1) : 1;
    }
    g.strokeStyle = "#e3e7ec"; g.fillStyle = "#6b7685"; g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = top + ph - (ph * i) / 4;
      g.beginPath(); g.moveTo(left, y); g.lineTo(left + pw, y); g.stroke();
      g.fillText(this.format((max * i) / 4), 4, y + 4);
    }
    const n = this.times.length;
    if (n === 0 || !this.series.size) {
      g.fillText(n === 0 ? "waiting for data…" : this.empty || "no data yet", left + 8, top + 16);
      return;
    }
    const t0 = this.times[0], t1 = this.times[n - 1];
    const x = t => left + (t1 > t0 ? ((t - t0) / (t1 - t0)) * pw : pw);
    const y = v => top + ph - Math.min(1, v / max) * ph;
    let i = 0;
    for (const arr of this.series.values()) {
      const color = COLORS[i++ % COLORS.length];
      g.strokeStyle = color; g.lineWidth = 1.8; g.beginPath();
      let pen = false;
      arr.forEach((v, k) => {
        if (v === null) { pen = false; return; }
        if (pen) g.lineTo(x(this.times[k]), y(v)); else g.moveTo(x(this.times[k]), y(v));
        pen = true;
      });
      g.stroke();
    }
    rows.forEach((row, r) => {
      let x0 = left;
      const y0 = top + ph + 26 + 13 * r;
      for (const e of row.items) {
        g.fillStyle = e.color; g.fillRect(x0, y0 - 5, 10, 3);
        g.fillStyle = "#1c2430"; g.fillText(e.label, x0 + 13, y0);
        x0 += e.width;
      }
    });
    g.fillStyle = "#6b7685";
    g.fillText(`last ${Math.round(t1 - t0)} s`, left + pw - 60, top + ph + 12);
  }
}

function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
