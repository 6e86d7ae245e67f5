// herolibs for JavaScript: an ES module client of the herocelery JSON-RPC API, for browsers
// and Node.js 18+ (only fetch is needed: the event stream is read from fetch, no EventSource).
//
//   import { HeroClient } from "http://127.0.0.1:8780/leaf/client.js";   // a browser
//   import { HeroClient } from "./client.js";                             // Node: a copy
//   const hc = new HeroClient("http://127.0.0.1:8780", { apiKey: "hc_..." });
//   const { flow_id } = await hc.submit(yamlText);
//   const stop = hc.events(flow_id, (ev) => console.log(ev.job_id, ev.status));
//
// A page of another origin needs an API key and its origin in the API's api_cors_origins
// setting; leaf's own page on this machine uses its session instead (`session`).
// A JSON-RPC error rejects with ApiError (code, message, data); an unreachable server
// rejects with ApiError whose code is null.

export class ApiError extends Error {
  constructor(message, code = null, data = null) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.data = data;
  }
}

export const TERMINAL_FLOW = ["finished", "error", "cancelled"];
export const SESSION_HEADER = "X-Herocelery-Session";

// Split server-sent event text into complete events; returns [events, rest]. An event is
// { data, comments }: `data` joins its data lines, `comments` lists its comment lines. Pure.
export function parseSse(text) {
  const events = [];
  const blocks = text.replace(/\r\n?/g, "\n").split("\n\n");
  const rest = blocks.pop();
  for (const block of blocks) {
    const data = [], comments = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) comments.push(line.slice(1).trim());
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    events.push({ data: data.length ? data.join("\n") : null, comments });
  }
  return [events, rest];
}

export class HeroClient {
  constructor(url = "", { apiKey = null, session = null } = {}) {
    this.url = String(url).replace(/\/+$/, "");
    this.apiKey = apiKey;
    this.session = session;
    this._id = 0;
  }

  headers() {
    const h = {};
    if (this.apiKey) h["Authorization"] = `Bearer ${this.apiKey}`;
    else if (this.session) h[SESSION_HEADER] = this.session;
    return h;
  }

  async call(method, params = {}) {
    let resp;
    try {
      resp = await fetch(`${this.url}/rpc`, {
        method: "POST", headers: { ...this.headers(), "Content-Type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++this._id, method, params }),
      });
    } catch (err) {
      throw new ApiError(`cannot reach the herocelery API at ${this.url}: ${err.message}`);
    }
    let reply;
    try {
      reply = await resp.json();
    } catch (err) {
      throw new ApiError(`${method}: HTTP ${resp.status} without a JSON-RPC reply`);
    }
    if (reply.error) throw new ApiError(reply.error.message, reply.error.code, reply.error.data);
    return reply.result;
  }

  discover() { return this.call("rpc.discover"); }
  submit(flow, format = "auto") { return this.call("flow.submit", { flow, format }); }
  flowStatus(flowId) { return this.call("flow.status", { flow_id: flowId }); }
  async flows(limit = 50) { return (await this.call("flow.list", { limit })).flows; }
  async cancel(flowId) { return (await this.call("flow.cancel", { flow_id: flowId })).cancelled; }
  async retry(flowId) { return (await this.call("flow.retry", { flow_id: flowId })).retrying; }
  graph(flowId) { return this.call("flow.graph", { flow_id: flowId }); }
  jobStatus(jobId) { return this.call("job.status", { job_id: jobId }); }
  jobResult(jobId) { return this.call("job.result", { job_id: jobId }); }
  async jobLogs(jobId) { return (await this.call("job.logs", { job_id: jobId })).logs; }
  async runners() { return (await this.call("runner.list")).nodes; }

  async wait(flowId, { timeoutMs = 60000, pollMs = 200 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { status } = await this.flowStatus(flowId);
      if (TERMINAL_FLOW.includes(status)) return status;
      if (Date.now() > deadline) throw new ApiError(`flow ${flowId} still ${status}`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  // Live events of one flow (or every flow when flowId is null): onEvent(object) per status
  // change; onOpen() each time the server has subscribed (no later event can be missed);
  // onError(ApiError) when the stream is refused or drops. A dropped stream is opened again
  // after `retryMs` (a refused one is not). Returns a function that closes the stream.
  events(flowId, onEvent, { onOpen = null, onError = null, retryMs = 1000 } = {}) {
    const path = `${this.url}/events${flowId ? "/" + encodeURIComponent(flowId) : ""}`;
    const abort = new AbortController();
    const run = async () => {
      while (!abort.signal.aborted) {
        let resp;
        try {
          resp = await fetch(path, { headers: { ...this.headers(), Accept: "text/event-stream" },
                                     signal: abort.signal, cache: "no-store" });
        } catch (err) {
          if (abort.signal.aborted) return;
          if (onError) onError(new ApiError(`cannot open ${path}: ${err.message}`));
          await new Promise((r) => setTimeout(r, retryMs));
          continue;
        }
        if (!resp.ok) {
          const text = await resp.text().catch(() => "");
          if (onError) onError(new ApiError(`${path}: HTTP ${resp.status} ${text}`.trim(), resp.status));
          return;
        }
        const reader = resp.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            const [events, rest] = parseSse(buffer + decoder.decode(value, { stream: true }));
            buffer = rest;
            for (const ev of events) {
              if (ev.comments.includes("connected") && onOpen) onOpen();
              if (ev.data === null) continue;
              let parsed;
              try { parsed = JSON.parse(ev.data); } catch (err) { continue; }  // not an event object
              onEvent(parsed);
            }
          }
        } catch (err) {
          if (abort.signal.aborted) return;
          if (onError) onError(new ApiError(`${path}: stream dropped: ${err.message}`));
        }
        if (!abort.signal.aborted) await new Promise((r) => setTimeout(r, retryMs));
      }
    };
    run();
    return () => abort.abort();
  }
}
