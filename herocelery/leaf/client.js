// herolibs for JavaScript: an ES module client of the herocelery JSON-RPC API.
//
//   import { HeroClient } from "http://127.0.0.1:8780/leaf/client.js";
//   const hc = new HeroClient("http://127.0.0.1:8780", { apiKey: null });
//   const { flow_id } = await hc.submit(yamlText);
//   const stop = hc.events(flow_id, (ev) => console.log(ev.job_id, ev.status));
//
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

export class HeroClient {
  constructor(url = "", { apiKey = null } = {}) {
    this.url = String(url).replace(/\/+$/, "");
    this.apiKey = apiKey;
    this._id = 0;
  }

  async call(method, params = {}) {
    const headers = { "Content-Type": "application/json" };
    if (this.apiKey) headers["Authorization"] = `Bearer ${this.apiKey}`;
    let resp;
    try {
      resp = await fetch(`${this.url}/rpc`, {
        method: "POST", headers,
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
  // change. Returns a function that closes the stream.
  events(flowId, onEvent, { onOpen = null } = {}) {
    let path = `${this.url}/events${flowId ? "/" + encodeURIComponent(flowId) : ""}`;
    if (this.apiKey) path += `?key=${encodeURIComponent(this.apiKey)}`;
    const source = new EventSource(path);
    source.onmessage = (msg) => {
      try { onEvent(JSON.parse(msg.data)); } catch (err) { /* not an event object */ }
    };
    if (onOpen) source.onopen = onOpen;
    return () => source.close();
  }
}
