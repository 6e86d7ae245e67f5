// leaf: the herocelery web front end as one custom element, no build step.
//
//   <script type="module" src="http://127.0.0.1:8780/leaf/leaf.js"></script>
//   <hero-leaf api="http://127.0.0.1:8780"></hero-leaf>
//
// `api` defaults to the server this script came from; `api-key` sets a Bearer key.
// Views: flow list, live DAG of the selected flow (SVG, layered, coloured by status as events
// arrive), job detail (result, error, logs), runner health per node, a form to submit a flow.

import { HeroClient } from "./client.js";

const COLOURS = {
  created: "#9e9e9e", waiting_for_prerequisites: "#bdbdbd", dispatched: "#64b5f6",
  started: "#1e88e5", finished: "#43a047", error: "#e53935", timeout: "#d81b60",
  cancelled: "#8e24aa", skipped: "#fdd835",
};
const FLOW_COLOURS = { started: "#1e88e5", finished: "#43a047", error: "#e53935",
                       cancelled: "#8e24aa", created: "#9e9e9e" };
const NODE_W = 140, NODE_H = 34, GAP_X = 50, GAP_Y = 18, PAD = 12;
const SVG = "http://www.w3.org/2000/svg";

const STYLE = `
:host { display: block; font: 14px system-ui, sans-serif; color: #222; }
.grid { display: grid; grid-template-columns: minmax(260px, 1fr) 2fr; gap: 12px; }
section { border: 1px solid #ddd; border-radius: 6px; padding: 8px; margin-bottom: 12px; }
h2 { font-size: 14px; margin: 0 0 6px; }
table { border-collapse: collapse; width: 100%; }
td, th { text-align: left; padding: 2px 6px; border-bottom: 1px solid #eee; font-size: 13px; }
tr.flow { cursor: pointer; } tr.flow:hover, tr.flow.selected { background: #eef5ff; }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; color: #fff; font-size: 12px; }
textarea { width: 100%; min-height: 120px; font: 12px monospace; box-sizing: border-box; }
pre { background: #f7f7f7; padding: 6px; max-height: 240px; overflow: auto; white-space: pre-wrap; }
.error { color: #c62828; } svg { max-width: 100%; } g.job { cursor: pointer; }
g.job text { fill: #fff; font-size: 12px; pointer-events: none; }
.dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 4px; }
`;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function badge(status, colours = COLOURS) {
  return el("span", { class: "badge", style: `background:${colours[status] || "#777"}` }, status);
}

// Positions of a layered drawing: layer -> column, order within the layer -> row. Pure.
export function layout(nodes) {
  const rows = {};
  const pos = {};
  for (const n of [...nodes].sort((a, b) => a.layer - b.layer || a.name.localeCompare(b.name))) {
    const row = rows[n.layer] = (rows[n.layer] ?? -1) + 1;
    pos[n.name] = { x: PAD + n.layer * (NODE_W + GAP_X), y: PAD + row * (NODE_H + GAP_Y) };
  }
  const width = Math.max(0, ...Object.values(pos).map((p) => p.x)) + NODE_W + PAD;
  const height = Math.max(0, ...Object.values(pos).map((p) => p.y)) + NODE_H + PAD;
  return { pos, width, height };
}

class HeroLeaf extends HTMLElement {
  static get observedAttributes() { return ["api", "api-key"]; }

  connectedCallback() {
    const root = this.shadowRoot || this.attachShadow({ mode: "open" });
    root.innerHTML = "";
    const base = this.getAttribute("api") || new URL("..", import.meta.url).href;
    this.client = new HeroClient(base, { apiKey: this.getAttribute("api-key") });
    this.flowId = null;
    this.graph = null;
    this.flowRows = new Map();
    root.append(el("style", {}, STYLE), this.render());
    this.refreshFlows();
    this.refreshRunners();
    this.stopEvents = this.client.events(null, (ev) => this.onEvent(ev));
    // events give the live view; a slow poll of the selected flow repairs anything missed
    // (a stream still connecting, an event racing the first drawing)
    this.timers = [setInterval(() => this.refreshFlows(), 5000),
                   setInterval(() => this.refreshRunners(), 2000),
                   setInterval(() => this.refreshSelected(), 2000)];
  }

  disconnectedCallback() {
    if (this.stopEvents) this.stopEvents();
    for (const t of this.timers || []) clearInterval(t);
  }

  render() {
    this.$flows = el("tbody");
    this.$runners = el("div", { id: "runners" });
    this.$text = el("textarea", { id: "flow-text", placeholder: "name: etl\njobs:\n  a: {script: 'result = 1'}" });
    this.$file = el("input", { type: "file", id: "flow-file", accept: ".yaml,.yml,.json,.hero,.heroscript,.md" });
    this.$file.addEventListener("change", async () => {
      const f = this.$file.files[0];
      if (f) this.$text.value = await f.text();
    });
    this.$submitMsg = el("div", { id: "submit-message" });
    this.$dag = el("div", { id: "dag" }, "select a flow");
    this.$flowTitle = el("h2", { id: "flow-title" }, "flow");
    this.$job = el("div", { id: "job" }, "click a job to see its result and logs");
    const form = el("form", { id: "submit-form", onsubmit: (e) => { e.preventDefault(); this.submit(); } },
      this.$text, this.$file, el("button", { type: "submit", id: "submit" }, "submit flow"),
      this.$submitMsg);
    return el("div", { class: "grid" },
      el("div", {},
        el("section", {}, el("h2", {}, "submit a flow"), form),
        el("section", {}, el("h2", {}, "flows"),
          el("table", { id: "flows" },
            el("thead", {}, el("tr", {}, el("th", {}, "name"), el("th", {}, "status"),
                                          el("th", {}, "jobs"), el("th", {}, "created"))),
            this.$flows)),
        el("section", {}, el("h2", {}, "runners"), this.$runners)),
      el("div", {},
        el("section", {}, this.$flowTitle, this.$dag),
        el("section", {}, el("h2", {}, "job"), this.$job)));
  }

  async submit() {
    this.$submitMsg.className = "";
    this.$submitMsg.textContent = "submitting ...";
    try {
      const out = await this.client.submit(this.$text.value);
      this.$submitMsg.textContent = `submitted ${out.name}: ${out.flow_id}`;
      await this.refreshFlows();
      await this.select(out.flow_id);
    } catch (err) {
      this.$submitMsg.className = "error";
      this.$submitMsg.textContent = err.message;
    }
  }

  async refreshFlows() {
    let flows;
    try { flows = await this.client.flows(50); } catch (err) { return; }
    this.$flows.replaceChildren();
    this.flowRows.clear();
    for (const f of flows) {
      const status = el("td", { class: "status" }, badge(f.status, FLOW_COLOURS));
      const row = el("tr", { class: "flow" + (f.id === this.flowId ? " selected" : ""),
                             "data-flow-id": f.id, "data-status": f.status,
                             onclick: () => this.select(f.id) },
        el("td", {}, f.name), status, el("td", {}, f.jobs),
        el("td", {}, new Date(f.created_at * 1000).toLocaleTimeString()));
      this.flowRows.set(f.id, row);
      this.$flows.append(row);
    }
  }

  async refreshRunners() {
    let nodes;
    try { nodes = await this.client.runners(); } catch (err) { return; }
    this.$runners.replaceChildren();
    for (const [node, info] of Object.entries(nodes)) {
      const managed = Object.entries(info.managed || {});
      const rows = managed.length ? managed.map(([type, st]) => [type, st.state, st.restarts])
        : (info.registered || []).map((e) => [e.runner, e.alive ? "running" : "dead", 0]);
      const table = el("table", { class: "node", "data-node": node });
      for (const [type, state, restarts] of rows) {
        const colour = state === "running" ? "#43a047" : state === "starting" ? "#1e88e5" : "#e53935";
        table.append(el("tr", { "data-runner": type, "data-state": state },
          el("td", {}, el("span", { class: "dot", style: `background:${colour}` }), type),
          el("td", {}, state), el("td", {}, restarts ? `${restarts} restarts` : "")));
      }
      this.$runners.append(el("div", {}, el("strong", {}, node)), table);
    }
  }

  async refreshSelected() {
    if (!this.flowId || !this.graph || this.refreshing) return;
    if (["finished", "error", "cancelled"].includes(this.$flowTitle.getAttribute("data-status"))) return;
    this.refreshing = true;
    try {
      const flow = await this.client.flowStatus(this.flowId);
      if (flow.id !== this.flowId) return;
      for (const job of Object.values(flow.jobs)) {
        const node = this.jobNodes && this.jobNodes.get(job.id);
        if (node && node.g.getAttribute("data-status") !== job.status) this.setJobStatus(job.id, job.status);
      }
      this.onEvent({ type: "flow", flow_id: flow.id, status: flow.status });
    } catch (err) {
      /* the next tick tries again */
    } finally {
      this.refreshing = false;
    }
  }

  async select(flowId) {
    this.flowId = flowId;
    for (const [id, row] of this.flowRows) row.classList.toggle("selected", id === flowId);
    try {
      this.graph = await this.client.graph(flowId);
    } catch (err) {
      this.$dag.textContent = err.message;
      return;
    }
    this.$flowTitle.replaceChildren(`flow ${this.graph.name} `, badge(this.graph.status, FLOW_COLOURS));
    this.$flowTitle.setAttribute("data-status", this.graph.status);
    this.drawDag();
  }

  drawDag() {
    const { pos, width, height } = layout(this.graph.nodes);
    const box = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, id: "dag-svg" });
    const defs = svg("defs");
    const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
                                   markerWidth: 6, markerHeight: 6, orient: "auto" });
    marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#888" }));
    defs.append(marker);
    box.append(defs);
    for (const [from, to] of this.graph.edges) {
      const a = pos[from], b = pos[to];
      const x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2;
      const mid = (x1 + x2) / 2;
      box.append(svg("path", { d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`,
                               fill: "none", stroke: "#888", "marker-end": "url(#arrow)" }));
    }
    this.jobNodes = new Map();
    for (const n of this.graph.nodes) {
      const p = pos[n.name];
      const g = svg("g", { class: "job", "data-name": n.name, "data-job-id": n.id,
                           "data-status": n.status, transform: `translate(${p.x},${p.y})` });
      const rect = svg("rect", { width: NODE_W, height: NODE_H, rx: 6,
                                 fill: COLOURS[n.status] || "#777" });
      const label = svg("text", { x: 8, y: 21 });
      label.textContent = `${n.name} · ${n.runner}@${n.node}`.slice(0, 22);
      const title = svg("title");
      title.textContent = `${n.name}: ${n.status}`;
      g.append(rect, label, title);
      g.addEventListener("click", () => this.showJob(n.id));
      this.jobNodes.set(n.id, { g, rect, title, name: n.name });
      box.append(g);
    }
    this.$dag.replaceChildren(box);
  }

  setJobStatus(jobId, status) {
    const node = this.jobNodes && this.jobNodes.get(jobId);
    if (!node) return;
    node.g.setAttribute("data-status", status);
    node.rect.setAttribute("fill", COLOURS[status] || "#777");
    node.title.textContent = `${node.name}: ${status}`;
    if (this.jobId === jobId) this.showJob(jobId);
  }

  onEvent(ev) {
    if (ev.type === "flow") {
      const row = this.flowRows.get(ev.flow_id);
      if (row) {
        row.setAttribute("data-status", ev.status);
        row.querySelector(".status").replaceChildren(badge(ev.status, FLOW_COLOURS));
      } else {
        this.refreshFlows();
      }
      if (ev.flow_id === this.flowId) {
        this.$flowTitle.setAttribute("data-status", ev.status);
        this.$flowTitle.replaceChildren(`flow ${this.graph.name} `, badge(ev.status, FLOW_COLOURS));
      }
    } else if (ev.type === "job" && ev.flow_id === this.flowId) {
      this.setJobStatus(ev.job_id, ev.status);
    }
  }

  async showJob(jobId) {
    this.jobId = jobId;
    let job, logs;
    try {
      [job, logs] = await Promise.all([this.client.jobStatus(jobId), this.client.jobLogs(jobId)]);
    } catch (err) {
      this.$job.textContent = err.message;
      return;
    }
    const result = await this.client.jobResult(jobId).catch(() => ({}));
    const parts = [
      el("div", { id: "job-title" }, el("strong", {}, job.name), " ", badge(job.status),
         ` ${job.runner}@${job.node}, attempts ${job.attempts}`),
      el("div", {}, "result"), el("pre", { id: "job-result" }, JSON.stringify(result.result ?? null, null, 2)),
    ];
    if (job.error) parts.push(el("div", { class: "error" }, "error"),
                              el("pre", { id: "job-error", class: "error" },
                                 job.error.message || JSON.stringify(job.error)));
    parts.push(el("div", {}, "logs"), el("pre", { id: "job-logs" }, logs || "(no output)"));
    this.$job.replaceChildren(...parts);
    this.$job.setAttribute("data-job-id", jobId);
  }
}

if (!customElements.get("hero-leaf")) customElements.define("hero-leaf", HeroLeaf);
export { HeroLeaf };
