// Playground: a streaming chat and embeddings through the gateway (relayed by the studio),
// with model, tenant and policy shown, and the curl / openai-SDK snippet of what was sent.
import { api, banner, h, ms } from "../api.js";

export function mount(root) {
  const info = h("div", { class: "row muted", id: "pg-info" }, "loading models…");
  const chatModel = h("select", { id: "chat-model" });
  const embModel = h("select", { id: "emb-model" });
  const tenant = h("input", { id: "tenant", value: "playground", size: 12 });
  const maxTokens = h("input", { id: "max-tokens", type: "number", value: 64, min: 1, style: "width:80px" });
  const temperature = h("input", { id: "temperature", type: "number", value: 0.7, step: 0.1, min: 0, style: "width:70px" });
  const prompt = h("textarea", { id: "chat-input" }, "Name three primary colors.");
  const output = h("div", { class: "output", id: "chat-output" });
  const stats = h("div", { class: "muted", id: "chat-stats" });
  const texts = h("textarea", { id: "emb-input" }, "SAGE runs pipelines.\nThe gateway schedules requests.");
  const embOut = h("div", { class: "output", id: "emb-output" });
  const snippet = h("pre", { id: "snippet" }, "# send a request to see its curl and openai-SDK form");
  const send = h("button", { id: "chat-send" }, "send");
  const embed = h("button", { id: "emb-send" }, "embed");
  const alerts = h("div");
  root.append(h("h1", {}, "Playground"), alerts, info,
    h("div", { class: "grid2" },
      h("div", {}, h("h2", {}, "Chat (streaming)"),
        h("div", { class: "row" }, "model", chatModel, "tenant", tenant, "max tokens", maxTokens, "temperature", temperature),
        prompt, h("div", { class: "row" }, send), output, stats),
      h("div", {}, h("h2", {}, "Embeddings"), h("div", { class: "row" }, "model", embModel),
        texts, h("div", { class: "row" }, embed), embOut)),
    h("h2", {}, "What was sent"), snippet);

  let cfg = { gateway_url: "" };
  (async () => {
    try {
      const [config, models, health] = await Promise.all([api("/api/config"), api("/api/v1/models"), api("/api/health")]);
      cfg = config;
      const kinds = new Map((health.engines || []).flatMap(e => (e.models || []).map(m => [m, e.kinds || []])));
      for (const m of models.data || []) {
        const k = kinds.get(m.id) || [];
        const opt = () => h("option", { value: m.id }, m.id);
        if (!k.length || k.includes("llm") || k.includes("chat")) chatModel.append(opt());
        if (!k.length || k.includes("embedding")) embModel.append(opt());
      }
      info.replaceChildren(`gateway ${cfg.gateway_url} · policy `, h("b", { id: "pg-policy" }, health.policy),
        ` · ${(models.data || []).length} models`);
    } catch (err) {
      info.replaceChildren();
      alerts.replaceChildren(banner(err.message));
    }
  })();

  const headers = () => ({ "x-sage-tenant": tenant.value || "default" });
  send.onclick = async () => {
    const body = { model: chatModel.value, stream: true, max_tokens: Number(maxTokens.value),
      temperature: Number(temperature.value), messages: [{ role: "user", content: prompt.value }] };
    showSnippet(snippet, cfg.gateway_url, "chat/completions", body, tenant.value);
    output.textContent = ""; stats.textContent = ""; send.disabled = true;
    const t0 = performance.now();
    let first = null, chunks = 0;
    try {
      const response = await fetch("/api/v1/chat/completions", { method: "POST",
        headers: { "content-type": "application/json", ...headers() }, body: JSON.stringify(body) });
      if (!response.ok || !response.body) {
        const data = await response.json().catch(() => ({}));
        throw new Error((data.error && data.error.message) || data.detail || `HTTP ${response.status}`);
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        const events = buffer.split("\n\n");
        buffer = events.pop();
        for (const ev of events) {
          const data = ev.replace(/^data: ?/m, "").trim();
          if (!data || data === "[DONE]") continue;
          const msg = JSON.parse(data);
          if (msg.error) throw new Error(msg.error.message);
          const delta = (msg.choices && msg.choices[0] && msg.choices[0].delta.content) || "";
          if (delta) {
            if (first === null) first = performance.now() - t0;
            chunks += 1;
            output.append(delta);
            output.dataset.chunks = String(chunks);
          }
        }
      }
      stats.textContent = `TTFT ${ms(first / 1000)} · ${chunks} chunks · ${ms((performance.now() - t0) / 1000)} total · tenant ${tenant.value}`;
    } catch (err) {
      stats.replaceChildren(h("span", { class: "down" }, err.message));
    } finally { send.disabled = false; }
  };

  embed.onclick = async () => {
    const input = texts.value.split("\n").map(s => s.trim()).filter(Boolean);
    const body = { model: embModel.value, input };
    showSnippet(snippet, cfg.gateway_url, "embeddings", body, tenant.value);
    const t0 = performance.now();
    try {
      const res = await api("/api/v1/embeddings", { method: "POST", body, headers: headers() });
      embOut.replaceChildren(`${res.data.length} vectors of ${res.data[0].embedding.length} dims in ${ms((performance.now() - t0) / 1000)}`,
        h("br"), ...res.data.map(d => `[${d.index}] ${d.embedding.slice(0, 4).map(x => x.toFixed(4)).join(", ")}, …\n`));
    } catch (err) {
      embOut.replaceChildren(h("span", { class: "down" }, err.message));
    }
  };
  return () => {};
}

function showSnippet(box, base, path, body, tenant) {
  const json = JSON.stringify(body, null, 2);
  const pyArgs = Object.entries(body).filter(([k]) => k !== "stream")
    .map(([k, v]) => `    ${k}=${JSON.stringify(v).replace(/\btrue\b/g, "True").replace(/\bfalse\b/g, "False")},`).join("\n");
  const call = path === "embeddings" ? "client.embeddings.create" : "client.chat.completions.create";
  const stream = body.stream ? "\n    stream=True," : "";
  box.textContent = `# curl
curl -N ${base}/v1/${path} \\
  -H 'Content-Type: application/json' -H 'X-SAGE-Tenant: ${tenant}' \\
  -d '${json.replace(/'/g, "'\\''")}'

# openai SDK (Python)
from openai import OpenAI
client = OpenAI(base_url="${base}/v1", api_key="none")  # your key when the gateway has keys
response = ${call}(
${pyArgs}${stream}
    extra_headers={"X-SAGE-Tenant": "${tenant}"},
)`;
}
