// The admin console's logic: one request a second to /status (counts of every service, one
// page of backends, new events), drawn into the page with textContent only; actions through
// the POST API with the token kept in sessionStorage.
"use strict";

const REFRESH_MS = 1000;
const PAGE_SIZE = 100;
const TIMELINE_MAX = 1000;
const TOKEN_KEY = "readygate-admin-token";
const SVG = "http://www.w3.org/2000/svg";

const view = {
  service: null,       // the service whose backends are shown
  offset: 0,
  eventsNext: 0,       // the next event sequence number to ask for
  events: [],          // newest first
  previous: new Map(), // backend key -> {responses, fivexx, at}: rates between refreshes
  rows: new Map(),     // "service address" -> its row's cells
  panels: new Map(),   // service name -> its panel
  pending: null,       // an action waiting for the token
  waitingForToken: false,
  refreshes: 0,
  lastRenderMs: 0,
  lastFetchMs: 0,
};
window.readygateConsole = view;

function $(id) { return document.getElementById(id); }

/// An element with text (never markup) and optional class.
function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function notice(text, isError) {
  const box = $("notice");
  box.textContent = text;
  box.className = isError ? "error" : "ok";
}

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

async function api(path, method) {
  const headers = {};
  if (token()) headers.Authorization = "Bearer " + token();
  const response = await fetch(path, { method: method || "GET", headers, cache: "no-store" });
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  return { status: response.status, body };
}

function askForToken(why) {
  $("token-why").textContent = why;
  $("token-form").hidden = false;
  $("token-input").focus();
}

function ago(seconds) {
  if (seconds < 1) return "just now";
  if (seconds < 90) return Math.round(seconds) + " s ago";
  if (seconds < 5400) return Math.round(seconds / 60) + " min ago";
  return Math.round(seconds / 3600) + " h ago";
}

function ms(value) { return value < 10 ? value.toFixed(1) + " ms" : Math.round(value) + " ms"; }

// ---- services ----------------------------------------------------------------------------

function servicePanel(name) {
  let entry = view.panels.get(name);
  if (entry) return entry;
  // Made once: its button keeps the keyboard focus across refreshes.
  const panel = el("article", null, "service");
  const body = el("div");
  const button = el("button", "Show backends");
  button.type = "button";
  button.setAttribute("aria-label", `Show the backends of ${name}`);
  button.addEventListener("click", () => {
    view.service = name;
    view.offset = 0;
    refreshSoon();
  });
  panel.append(body, button);
  entry = { panel, body, button };
  view.panels.set(name, entry);
  return entry;
}

function renderServices(services) {
  const box = $("services");
  const seen = new Set();
  for (const service of services) {
    seen.add(service.name);
    const { panel, body, button } = servicePanel(service.name);
    panel.classList.toggle("failing-open", service.failing_open);
    const parts = [el("h2", service.name),
      el("p", `${service.backends_ready} ready of ${service.backends_total}` +
        ` (minReady ${service.min_ready})`, "counts")];
    if (service.failing_open) {
      parts.push(el("p", "FAILING OPEN: no backend is ready, traffic goes to all", "badge warn"));
    }
    if (service.removed) parts.push(el("p", "removed by a reload, draining", "badge"));
    const facts = el("dl");
    const fact = (name, value) => { facts.append(el("dt", name), el("dd", value)); };
    fact("listen", service.listen || "(routes only)");
    fact("mode", service.mode);
    const states = Object.entries(service.states).filter(([, n]) => n > 0)
      .map(([state, n]) => `${n} ${state}`).join(", ");
    fact("states", states || "no backends");
    if (service.routes.length > 0) {
      fact("routes", service.routes.map((r) => `${r.host || "*"}${r.path_prefix} → ${r.service}`)
        .join("; "));
    }
    for (const source of service.sources) {
      // An empty static list beside a file or Kubernetes source says nothing.
      if (source.source === "static" && source.endpoints === 0 && service.sources.length > 1) continue;
      let text = `${source.endpoints} endpoints`;
      text += source.last_update ? `, updated ${source.last_update}` : "";
      if (source.errors > 0) text += `, ${source.errors} errors`;
      if (source.last_error) text += ` (last: ${source.last_error})`;
      fact("source " + source.source, text);
    }
    parts.push(facts);
    body.replaceChildren(...parts);
    button.setAttribute("aria-pressed", String(service.name === view.service));
    if (panel.parentNode !== box) box.append(panel);
  }
  for (const [name, entry] of view.panels) {
    if (!seen.has(name)) {
      entry.panel.remove();
      view.panels.delete(name);
    }
  }
}

// ---- backends ----------------------------------------------------------------------------

// The one state set, and the two ends of a backend's life in the timeline (new, gone).
const STATES = ["starting", "ready", "not_ready", "draining", "disabled", "leaving", "removed",
  "ejected", "new", "gone"];

function stateBadge(node, state) {
  node.textContent = state.replace("_", " ");
  node.className = "state state-" + (STATES.includes(state) ? state : "unknown");
}

function sparkline(backend) {
  const samples = backend.probe_latencies_ms || [];
  const failed = new Set(backend.probe_failures || []);
  const width = 120, height = 24;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("role", "img");
  const max = Math.max(1, ...samples);
  const x = (i) => (samples.length < 2 ? width : (i / 59) * width);
  const y = (v) => height - 2 - (v / max) * (height - 4);
  if (samples.length > 0) {
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", samples.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`)
      .join(" "));
    line.setAttribute("class", "spark");
    svg.append(line);
    for (const i of failed) {
      const dot = document.createElementNS(SVG, "circle");
      dot.setAttribute("cx", x(i).toFixed(1));
      dot.setAttribute("cy", y(samples[i]).toFixed(1));
      dot.setAttribute("r", "2");
      dot.setAttribute("class", "spark-failed");
      svg.append(dot);
    }
  }
  const last = samples.length ? ms(samples[samples.length - 1]) : "none yet";
  const label = `${samples.length} probes, max ${ms(max)}, last ${last}, ${failed.size} failed`;
  svg.setAttribute("aria-label", label);
  const title = document.createElementNS(SVG, "title");
  title.textContent = label;
  svg.prepend(title);
  return svg;
}

function probeLines(backend) {
  const list = el("ul", null, "probes");
  for (const [kind, probe] of Object.entries(backend.probes)) {
    const item = el("li");
    if (!probe.last) {
      item.textContent = `${kind}: not yet`;
    } else {
      const last = probe.last;
      item.append(el("span", last.success ? "✓ " : "✗ ", last.success ? "pass" : "fail"));
      item.append(el("span", `${kind} ${last.reason} ${ms(last.latency_seconds * 1000)}`));
      if (last.message) item.append(el("span", last.message, "message"));
    }
    list.append(item);
  }
  if (list.childElementCount === 0) list.append(el("li", "no probes configured"));
  return list;
}

function rates(service, backend, now) {
  const key = service + "/" + backend.address;
  const before = view.previous.get(key);
  view.previous.set(key, { responses: backend.responses_total, fivexx: backend.responses_5xx_total,
    at: now });
  if (!before || now <= before.at) return { perSecond: null, share: null };
  const answered = backend.responses_total - before.responses;
  const failed = backend.responses_5xx_total - before.fivexx;
  return {
    perSecond: answered / ((now - before.at) / 1000),
    share: answered > 0 ? failed / answered : null,
  };
}

function actionButton(label, action, service, address) {
  const button = el("button", label);
  button.type = "button";
  button.dataset.action = action;
  button.setAttribute("aria-label", `${label} ${address}`);
  button.addEventListener("click", () => act({ kind: "backend", action, service, address }));
  return button;
}

function makeRow(service, address) {
  const row = el("tr");
  row.dataset.backend = address;
  const names = ["Backend", "State", "Rotation", "Reason", "Last probes", "Probe latency",
    "Weight", "Conns", "Req/s", "5xx", "Actions"];
  const cells = names.map((name) => {
    const cell = el("td");
    cell.dataset.label = name;
    row.append(cell);
    return cell;
  });
  const state = el("span");
  cells[1].append(state);
  const weight = document.createElement("meter");
  weight.min = 0;
  weight.max = 1;
  const weightText = el("span", null, "weight-text");
  cells[6].append(weight, weightText);
  cells[10].append(actionButton("Drain", "drain", service, address),
    actionButton("Disable", "disable", service, address),
    actionButton("Enable", "enable", service, address));
  return { row, cells, state, weight, weightText };
}

function updateRow(entry, service, backend, now) {
  const c = entry.cells;
  c[0].replaceChildren(el("span", backend.address, "address"));
  if (backend.kubernetes && backend.kubernetes.pod) c[0].append(el("span", backend.kubernetes.pod, "pod"));
  stateBadge(entry.state, backend.state);
  entry.row.className = "row-" + backend.state;
  let rotation = backend.in_rotation ? "in" : "out";
  if (backend.failing_open) rotation = "in (fail open)";
  if (backend.terminating_fallback) rotation = "in (terminating fallback)";
  c[2].replaceChildren(el("span", rotation, backend.in_rotation ? "in" : "out"));
  if (backend.held_by_min_ready) c[2].append(el("span", "held by minReady", "badge held"));
  if (backend.admin_state !== "enabled") c[2].append(el("span", "admin: " + backend.admin_state, "badge"));
  c[3].replaceChildren(el("span", backend.reason || "-", "reason"),
    el("span", "since " + ago(backend.seconds_since_transition), "since"));
  c[3].title = backend.since;
  c[4].replaceChildren(probeLines(backend));
  c[5].replaceChildren(sparkline(backend));
  entry.weight.value = backend.weight;
  entry.weightText.textContent = Math.round(backend.weight * 100) + "%";
  c[7].textContent = backend.active_connections;
  const { perSecond, share } = rates(service, backend, now);
  c[8].textContent = perSecond === null ? "…" : perSecond.toFixed(perSecond < 10 ? 1 : 0);
  c[9].textContent = share === null ? "-" : (share * 100).toFixed(1) + "%";
  c[9].className = share ? "bad" : "";
}

function renderPage(page, now) {
  const body = $("backends").tBodies[0];
  $("backends-caption").textContent = `Backends of ${page.service}`;
  const seen = new Set();
  let before = body.firstElementChild;
  for (const backend of page.backends) {
    // By service too: one address may be a backend of two services, with its own buttons.
    const key = page.service + " " + backend.address;
    seen.add(key);
    let entry = view.rows.get(key);
    if (!entry) {
      entry = makeRow(page.service, backend.address);
      view.rows.set(key, entry);
    }
    updateRow(entry, page.service, backend, now);
    // Moved only when out of place: moving a row would take the focus off its buttons.
    if (entry.row !== before) body.insertBefore(entry.row, before);
    else before = before.nextElementSibling;
  }
  for (const [key, entry] of view.rows) {
    if (!seen.has(key)) {
      entry.row.remove();
      view.rows.delete(key);
    }
  }
  const last = Math.min(page.total, page.offset + page.backends.length);
  $("page-info").textContent = page.total === 0 ? "no backends"
    : `${page.offset + 1}–${last} of ${page.total}`;
  $("prev").disabled = page.offset === 0;
  $("next").disabled = last >= page.total;
}

// ---- timeline ----------------------------------------------------------------------------

function renderEvents(events) {
  if (events.truncated && view.eventsNext > 0) {
    view.events.unshift({ gap: true });
  }
  for (const event of events.events) view.events.unshift(event);
  view.events.length = Math.min(view.events.length, TIMELINE_MAX);
  view.eventsNext = events.next;
  if (events.events.length === 0 && !events.truncated) return;
  const list = $("timeline");
  const items = view.events.map((event) => {
    if (event.gap) return el("li", "(older changes were dropped: more happened than are kept)", "gap");
    const item = el("li", null, "event");
    item.dataset.seq = event.seq;
    item.append(el("time", event.time.replace("T", " ").replace("Z", " UTC")));
    item.append(el("span", event.service, "service-name"));
    item.append(el("span", event.backend + (event.pod ? ` (${event.pod})` : ""), "address"));
    const from = el("span");
    stateBadge(from, event.from);
    const to = el("span");
    stateBadge(to, event.to);
    item.append(from, el("span", "→", "arrow"), to);
    item.append(el("span", `${event.cause}: ${event.reason}`, "reason"));
    return item;
  });
  list.replaceChildren(...items);
}

// ---- refresh -----------------------------------------------------------------------------

// One refresh at a time: two in flight would both ask for the same events.
let timer = null;
let inFlight = false;
let again = false;
function refreshSoon(delay) {
  if (inFlight) {
    again = true;
    return;
  }
  clearTimeout(timer);
  timer = setTimeout(refresh, delay === undefined ? 0 : delay);
}

async function refresh() {
  inFlight = true;
  again = false;
  try {
    await refreshOnce();
  } finally {
    inFlight = false;
  }
  if (view.waitingForToken) return;  // resumes when a token is given
  refreshSoon(again ? 0 : REFRESH_MS);
}

async function refreshOnce() {
  let path = `/status?summary=1&events_since=${view.eventsNext}`;
  if (view.service) {
    path += `&service=${encodeURIComponent(view.service)}&offset=${view.offset}&limit=${PAGE_SIZE}`;
  }
  try {
    const started = performance.now();
    const { status, body } = await api(path);
    if (status === 401) {
      $("connection").textContent = "waiting for the admin token";
      askForToken("Reading this admin API needs its token (admin.tokenForReads).");
      view.waitingForToken = true;
      return;
    }
    if (status === 404 && view.service) {
      view.service = null;  // the service went away with a reload
      again = true;
      return;
    }
    if (status !== 200 || !body) throw new Error(`/status answered ${status}`);
    const fetched = performance.now();
    if (!view.service && body.services.length > 0) {
      view.service = (body.services.find((s) => !s.removed) || body.services[0]).name;
      again = true;
    }
    renderServices(body.services);
    if (body.page) renderPage(body.page, Date.now());
    if (body.events) renderEvents(body.events);
    view.refreshes += 1;
    view.lastFetchMs = fetched - started;
    view.lastRenderMs = performance.now() - fetched;
    document.body.dataset.refreshes = view.refreshes;
    $("connection").textContent = `live, updated ${new Date().toLocaleTimeString()}`;
    $("connection").className = "live";
  } catch (error) {
    $("connection").textContent = `not reachable (${error.message}); retrying`;
    $("connection").className = "down";
  }
}

// ---- actions -----------------------------------------------------------------------------

async function act(action) {
  const path = action.kind === "reload" ? "/reload"
    : `/backends/${encodeURIComponent(action.service)}/${encodeURIComponent(action.address)}/` +
      action.action;
  const what = action.kind === "reload" ? "reload" : `${action.action} ${action.address}`;
  let result;
  try {
    result = await api(path, "POST");
  } catch (error) {
    notice(`${what}: not sent (${error.message})`, true);
    return;
  }
  if (result.status === 401) {
    view.pending = action;
    notice(`${what}: refused without the admin token`, true);
    askForToken(token() ? `That token was refused. The admin token is needed to ${what}.`
      : `The admin token is needed to ${what}.`);
    return;
  }
  const body = result.body || {};
  if (result.status !== 200) {
    const errors = body.errors ? ": " + body.errors.join("; ") : "";
    notice(`${what}: ${body.error || "failed, " + result.status}${errors}`, true);
    return;
  }
  if (action.kind === "reload") {
    notice(`reloaded: ${body.changes.length ? body.changes.join("; ") : "nothing changed"}`);
  } else {
    notice(`${action.address}: ${body.admin_state}, now ${body.state}`);
  }
  refreshSoon();
}

function start() {
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token-input").value.trim());
    $("token-input").value = "";
    $("token-form").hidden = true;
    const pending = view.pending;
    view.pending = null;
    if (pending) act(pending);
    view.waitingForToken = false;
    refreshSoon();
  });
  $("reload").addEventListener("click", () => act({ kind: "reload" }));
  $("prev").addEventListener("click", () => {
    view.offset = Math.max(0, view.offset - PAGE_SIZE);
    refreshSoon();
  });
  $("next").addEventListener("click", () => {
    view.offset += PAGE_SIZE;
    refreshSoon();
  });
  refresh();
}

document.addEventListener("DOMContentLoaded", start);
