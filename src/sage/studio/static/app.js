// Hash router: each page is an ES module loaded on first visit; mount(el, arg) returns
// a cleanup function (closes its EventSource / timers) run when the user leaves the page.
import { adminToken, setAdminToken } from "./api.js";

const PAGES = {
  overview: () => import("./pages/overview.js"),
  jobs: () => import("./pages/jobs.js"),
  playground: () => import("./pages/playground.js"),
  benchmarks: () => import("./pages/benchmarks.js"),
};

let cleanup = null;
let generation = 0;

async function route() {
  const [name, ...rest] = (location.hash.replace(/^#\/?/, "") || "overview").split("/");
  const page = PAGES[name] ? name : "overview";
  for (const a of document.querySelectorAll("nav a")) {
    a.classList.toggle("active", a.dataset.page === page);
  }
  if (cleanup) { cleanup(); cleanup = null; }
  const mine = ++generation;
  const main = document.getElementById("page");
  const module = await PAGES[page]();
  if (mine !== generation) return;  // the user moved on while it loaded
  main.replaceChildren();
  cleanup = module.mount(main, rest.map(decodeURIComponent).join("/")) || null;
}

const token = document.getElementById("admin-token");
token.value = adminToken();
token.addEventListener("change", () => setAdminToken(token.value.trim()));
window.addEventListener("hashchange", route);
route();
