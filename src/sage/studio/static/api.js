// Small helpers shared by the pages: fetch JSON from the studio API, build DOM nodes.

const TOKEN_KEY = "sage-admin-token";

export function adminToken() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setAdminToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

// fetch + JSON; a non-2xx answer throws an Error carrying status and the service's detail.
export async function api(path, { method = "GET", body, admin = false, headers = {} } = {}) {
  const h = { ...headers };
  if (body !== undefined) h["content-type"] = "application/json";
  if (admin && adminToken()) h["x-sage-admin-token"] = adminToken();
  const response = await fetch(path, {
    method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data;
  try { data = await response.json(); } catch { data = { detail: response.statusText }; }
  if (!response.ok) {
    const err = new Error(errorText(data) || `HTTP ${response.status}`);
    err.status = response.status;
    err.down = Boolean(data && data.down);
    throw err;
  }
  return data;
}

export function errorText(data) {
  if (!data) return "";
  if (data.error && data.error.message) return data.error.message;
  if (data.detail) return typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
  return "";
}

// h("div", {class: "x", onclick: f}, "text", child) -> element
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "html") el.innerHTML = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function table(columns, rows) {
  return h("table", {},
    h("tr", {}, columns.map(c => h("th", { class: c.num ? "num" : null }, c.label))),
    rows.map(r => h("tr", {}, columns.map(c => h("td", { class: c.num ? "num" : null }, c.value(r))))));
}

export function fmt(x, digits = 2) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (typeof x !== "number") return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(digits);
}

export function ms(seconds) {
  return seconds === null || seconds === undefined ? "–" : `${(seconds * 1000).toFixed(0)} ms`;
}

export function when(ts) {
  return ts ? new Date(ts * 1000).toLocaleString() : "–";
}

export function banner(text) {
  return h("div", { class: "banner", role: "alert" }, text);
}
