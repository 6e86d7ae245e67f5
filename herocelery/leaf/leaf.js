// leaf: the herocelery web front end as one custom element, no build step.
//
//   <script type="module" src="http://127.0.0.1:8780/leaf/leaf.js"></script>
//   <hero-leaf api="http://127.0.0.1:8780" api-key="hc_..."></hero-leaf>
//
// `api` defaults to the server this script came from; `api-key` sets a Bearer key; `session`
// is leaf's own page's session on this machine (the API puts it in /leaf/ for its Unix user).
// Views: flow list, live DAG of the selected flow (SVG, layered, coloured by status as events
// arrive, a legend of the statuses, labels sized to fit), cancel and retry of the flow, job
// detail (timings, attempts, result, error with its traceback, logs), runner health per node,
// a form to submit a flow.

import { HeroClient, TERMINAL_FLOW } from "./client.js";

export const COLOURS = {
  created: "#9e9e9e", waiting_for_prerequisites: "#bdbdbd", dispatched: "#64b5f6",
  started: "#1e88e5", finished: "#43a047", error: "#c62828", timeout: "#d81b60",
  cancelled: "#8e24aa", skipped: "#fdd835",
};
const FLOW_COLOURS = { started: "#1e88e5", finished: "#43a047", error: "#c62828",
                       cancelled: "#8e24aa", created: "#9e9e9e" };
const LEGEND = {
  created: "stored, not yet released", waiting_for_prerequisites: "waits for the jobs before it",
  dispatched: "queued on a runner", started: "running", finished: "done",
  error: "failed (click for the error)", timeout: "ran past its timeout",
  cancelled: "cancelled", skipped: "not run: a job before it failed",
};
const MIN_W = 120, NODE_H = 34, GAP_X = 50, GAP_Y = 18, PAD = 12, TEXT_PAD = 10;
const LABEL_FONT = "12px system-ui, sans-serif";
const SVG = "http://www.w3.org/2000/svg";

const STYLE = `
:host { display: block; font: 14px system-ui, sans-serif; color: #222; }
.grid { display: grid; grid-template-columns: minmax(260px, 1fr) 2fr; gap: 12px; }
section { border: 1px solid #ddd; border-radius: 6px; padding: 8px; margin-bottom: 12px; }
h2 { font-size: 14px; margin: 0 0 6px; }
table { border-collapse: collapse; width: 100%; }
td, th { text-align: left; padding: 2px 6px; border-bottom: 1px solid #eee; font-size: 13px; }
tr.flow { cursor: pointer; } tr.flow:hover, tr.flow.selected { background: #eef5ff; }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 12px; }
textarea { width: 100%; min-height: 120px; font: 12px monospace; box-sizing: border-box; }
pre { background: #f7f7f7; padding: 6px; max-height: 240px; overflow: auto; white-space: pre-wrap; }
.error { color: #c62828; } #dag { overflow-x: auto; } g.job { cursor: pointer; }
g.job text { font: ${LABEL_FONT}; pointer-events: none; }
.dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 4px; }
.flow-actions { display: flex; gap: 6px; align-items: center; margin-bottom: 6px; }
#legend { display: flex; flex-wrap: wrap; gap: 4px 10px; margin-top: 6px; font-size: 12px; }
#legend .swatch { display: inline-block; width: 12px; height: 12px; border-radius: 3px;
                  vertical-align: -2px; margin-right: 3px; }
#job-timings td:first-child { color: #555; width: 7em; }
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

// WCAG relative luminance of a #rrggbb colour, and the contrast ratio of two. Pure.
export function luminance(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
export function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}
// The text colour readable on a background: near-black or white, whichever contrasts more. Pure.
export function textColour(bg) {
  return contrast(bg, "#111111") >= contrast(bg, "#ffffff") ? "#111111" : "#ffffff";
}

function badge(status, colours = COLOURS) {
  const bg = colours[status] || "#777777";
  return el("span", { class: "badge", style: `background:${bg};color:${textColour(bg)}` }, status);
}

// Positions of a layered drawing: layer -> column (as wide as its widest label), order within
// the layer -> row. `widths[name]` is each box's width. Pure.
export function layout(nodes, widths = {}) {
  const colW = {};
  for (const n of nodes) colW[n.layer] = Math.max(colW[n.layer] ?? MIN_W, widths[n.name] ?? MIN_W);
  const layers = Object.keys(colW).map(Number).sort((a, b) => a - b);
  const colX = {};
  let x = PAD;
  for (const l of layers) { colX[l] = x; x += colW[l] + GAP_X; }
  const rows = {};
  const pos = {};
  for (const n of [...nodes].sort((a, b) => a.layer - b.layer || a.name.localeCompare(b.name))) {
    const row = rows[n.layer] = (rows[n.layer] ?? -1) + 1;
    pos[n.name] = { x: colX[n.layer], y: PAD + row * (NODE_H + GAP_Y), w: colW[n.layer] };
  }
  const width = Math.max(PAD + MIN_W, ...Object.values(pos).map((p) => p.x + p.w)) + PAD;
  const height = Math.max(0, ...Object.values(pos).map((p) => p.y)) + NODE_H + PAD;
  return { pos, width, height };
}

let measureCtx = null;
function textWidth(text) {
  measureCtx = measureCtx || document.createElement("canvas").getContext("2d");
  measureCtx.font = LABEL_FONT;
  return measureCtx.measureText(text).width;
}

function when(t) {
  return t ? new Date(t * 1000).toLocaleTimeString([], { hour12: false }) +
    "." + String(Math.floor((t % 1) * 1000)).padStart(3, "0") : "-";
}
function span(a, b) { return a && b ? `${(b - a).toFixed(3)} s` : "-"; }

class HeroLeaf extends HTMLElement {
  static get observedAttributes() { return ["api", "api-key", "session"]; }

  connectedCallback() {
    const root = this.shadowRoot || this.attachShadow({ mode: "open" });
    root.innerHTML = "";
    const base = this.getAttribute("api") || new URL("..", import.meta.url).href;
    this.client = new HeroClient(base, { apiKey: this.getAttribute("api-key"),
                                         session: this.getAttribute("session") });
    this.flowId = null;
    this.graph = null;
    this.flowRows = new Map();
    root.append(el("style", {}, STYLE), this.render());
    this.refreshFlows();
    this.refreshRunners();
    this.stopEvents = this.client.events(null, (ev) => this.onEvent(ev));
    // events give the live view; a slow poll of the selected flow repairs anything missed
    // (a stream still connecting, an event racing the first drawing) until the server itself
    // says the flow has ended
    this.timers = [setInterval(() => this.refreshFlows(), 5000),
                   setInterval(() => this.refreshRunners(), 2000),
                   setInterval(() => this.refreshSelected(), 1000)];
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
    this.$cancel = el("button", { id: "cancel-flow", type: "button", disabled: "",
                                  onclick: () => this.act("cancel") }, "cancel flow");
    this.$retry = el("button", { id: "retry-flow", type: "button", disabled: "",
                                 onclick: () => this.act("retry") }, "retry failed jobs");
    this.$flowMsg = el("span", { id: "flow-message" });
    this.$legend = el("div", { id: "legend" }, ...Object.entries(COLOURS).map(([status, colour]) =>
      el("span", { class: "legend-item", "data-status": status, title: LEGEND[status] },
         el("span", { class: "swatch", style: `background:${colour}` }), status.replaceAll("_", " "))));
    this.$job = el("div", { id: "job" }, "click a job to see its timings, result, error and logs");
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
        el("section", {}, this.$flowTitle,
           el("div", { class: "flow-actions" }, this.$cancel, this.$retry, this.$flowMsg),
           this.$dag, this.$legend),
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

  // cancel or retry the selected flow; the message says what was touched
  async act(action) {
    const flowId = this.flowId;
    if (!flowId) return;
    this.$flowMsg.className = "";
    this.$flowMsg.textContent = `${action} ...`;
    try {
      const names = action === "cancel" ? await this.client.cancel(flowId)
        : await this.client.retry(flowId);
      this.$flowMsg.textContent = names.length
        ? `${action === "cancel" ? "cancelled" : "retrying"}: ${names.join(", ")}`
        : `nothing to ${action}`;
    } catch (err) {
      this.$flowMsg.className = "error";
      this.$flowMsg.textContent = err.message;
    }
    if (this.flowId === flowId) await this.select(flowId, { keepMessage: true });
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
    if (!this.flowId || !this.graph || this.refreshing || this.settled) return;
    this.refreshing = true;
    try {
      const flow = await this.client.flowStatus(this.flowId);
      if (flow.id !== this.flowId) return;
      for (const job of Object.values(flow.jobs)) {
        const node = this.jobNodes && this.jobNodes.get(job.id);
        if (node && node.g.getAttribute("data-status") !== job.status) this.setJobStatus(job.id, job.status);
      }
      this.setFlowStatus(flow.status);
      this.settled = TERMINAL_FLOW.includes(flow.status);
    } catch (err) {
      /* the next tick tries again */
    } finally {
      this.refreshing = false;
    }
  }

  async select(flowId, { keepMessage = false } = {}) {
    this.flowId = flowId;
    this.settled = false;
    if (!keepMessage) this.$flowMsg.textContent = "";
    for (const [id, row] of this.flowRows) row.classList.toggle("selected", id === flowId);
    let graph;
    try {
      graph = await this.client.graph(flowId);
    } catch (err) {
      this.$dag.textContent = err.message;
      return;
    }
    if (this.flowId !== flowId) return;
    this.graph = graph;
    this.drawDag();
    this.setFlowStatus(graph.status);
  }

  setFlowStatus(status) {
    if (!this.graph) return;
    this.$flowTitle.replaceChildren(`flow ${this.graph.name} `, badge(status, FLOW_COLOURS));
    this.$flowTitle.setAttribute("data-status", status);
    const ended = TERMINAL_FLOW.includes(status);
    this.$cancel.toggleAttribute("disabled", ended);
    this.$retry.toggleAttribute("disabled", !(status === "error" || status === "cancelled"));
  }

  // `widths`: box width per job; by default from a canvas measure of each label
  drawDag(widths = null) {
    const label = (n) => `${n.name} · ${n.runner}@${n.node}`;
    const measured = !widths;
    widths = widths || Object.fromEntries(this.graph.nodes.map(
      (n) => [n.name, Math.ceil(textWidth(label(n))) + 2 * TEXT_PAD]));
    const { pos, width, height } = layout(this.graph.nodes, widths);
    const box = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, id: "dag-svg" });
    const defs = svg("defs");
    const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
                                   markerWidth: 6, markerHeight: 6, orient: "auto" });
    marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#888" }));
    defs.append(marker);
    box.append(defs);
    for (const [from, to] of this.graph.edges) {
      const a = pos[from], b = pos[to];
      const x1 = a.x + a.w, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2;
      const mid = (x1 + x2) / 2;
      box.append(svg("path", { d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`,
                               fill: "none", stroke: "#888", "marker-end": "url(#arrow)" }));
    }
    this.jobNodes = new Map();
    for (const n of this.graph.nodes) {
      const p = pos[n.name];
      const g = svg("g", { class: "job", "data-name": n.name, "data-job-id": n.id,
                           "data-status": n.status, transform: `translate(${p.x},${p.y})` });
      const rect = svg("rect", { width: p.w, height: NODE_H, rx: 6 });
      const text = svg("text", { x: TEXT_PAD, y: 21 });
      text.textContent = label(n);
      const title = svg("title");
      g.append(rect, text, title);
      g.addEventListener("click", () => this.showJob(n.id));
      this.jobNodes.set(n.id, { g, rect, text, title, name: n.name });
      box.append(g);
      this.paint(n.id, n.status);
    }
    this.$dag.replaceChildren(box);
    // the canvas measure and the SVG's drawing may differ (a pixel, a fallback font): once
    // drawn, a box whose text came out longer is widened and the DAG drawn again
    if (!measured) return;
    let grown = false;
    for (const node of this.jobNodes.values()) {
      const drawn = Math.ceil(node.text.getComputedTextLength()) + 2 * TEXT_PAD;
      if (drawn > widths[node.name]) { widths[node.name] = drawn; grown = true; }
    }
    if (grown) this.drawDag(widths);
  }

  paint(jobId, status) {
    const node = this.jobNodes.get(jobId);
    const fill = COLOURS[status] || "#777777";
    node.g.setAttribute("data-status", status);
    node.rect.setAttribute("fill", fill);
    node.text.setAttribute("fill", textColour(fill));
    node.title.textContent = `${node.name}: ${status} (${LEGEND[status] || status})`;
  }

  setJobStatus(jobId, status) {
    if (!this.jobNodes || !this.jobNodes.get(jobId)) return;
    this.paint(jobId, status);
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
      if (ev.flow_id === this.flowId) this.setFlowStatus(ev.status);
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
    const row = (field, label, value, raw = "") =>
      el("tr", { "data-field": field, "data-value": raw ?? "" }, el("td", {}, label), el("td", {}, value));
    const timings = el("table", { id: "job-timings" },
      row("created", "submitted", when(job.created_at), job.created_at),
      row("queued", "queued", when(job.dispatched_at), job.dispatched_at),
      row("started", "started", when(job.started_at), job.started_at),
      row("finished", "finished", when(job.finished_at), job.finished_at),
      row("waited", "waited", span(job.dispatched_at, job.started_at)),
      row("ran", "ran", span(job.started_at, job.finished_at)),
      row("attempts", "attempts", `${job.attempts}${job.retries ? ` (retries allowed: ${job.retries})` : ""}`,
          job.attempts));
    const parts = [
      el("div", { id: "job-title" }, el("strong", {}, job.name), " ", badge(job.status),
         ` ${job.runner}@${job.node}`),
      timings,
      el("div", {}, "result"), el("pre", { id: "job-result" }, JSON.stringify(result.result ?? null, null, 2)),
    ];
    if (job.error) {
      const e = job.error;
      const where = e.line ? ` (line ${e.line})` : "";
      parts.push(el("div", { class: "error" }, "error"),
                 el("pre", { id: "job-error", class: "error" },
                    `${e.type ? e.type + ": " : ""}${e.message || JSON.stringify(e)}${where}`));
      if (e.traceback) parts.push(el("div", {}, "traceback"),
                                  el("pre", { id: "job-traceback", class: "error" }, e.traceback));
    }
    parts.push(el("div", {}, "logs"), el("pre", { id: "job-logs" }, logs || "(no output)"));
    this.$job.replaceChildren(...parts);
    this.$job.setAttribute("data-job-id", jobId);
  }
}

if (!customElements.get("hero-leaf")) customElements.define("hero-leaf", HeroLeaf);
export { HeroLeaf };
