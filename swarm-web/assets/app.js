// Swarm's web UI: polls Locust's /stats/requests and Swarm's /stats/history, draws the
// charts as inline SVG, and sends commands as Locust's UI does (form-encoded POSTs).
"use strict";

const POLL_MS = 1000;
const SVG_NS = "http://www.w3.org/2000/svg";
const points = [];
let lastSeq = 0;
let lastState = "";

const $ = (id) => document.getElementById(id);

function fmt(x, digits) {
  if (x === null || x === undefined || Number.isNaN(x)) return "";
  return Number(x).toFixed(digits);
}

function message(text, isError) {
  const m = $("message");
  m.textContent = text || "";
  m.className = isError ? "error" : "";
}

async function post(path, form) {
  const body = form ? new URLSearchParams(new FormData(form)) : undefined;
  const res = await fetch(path, { method: "POST", body, credentials: "same-origin" });
  const type = res.headers.get("content-type") || "";
  const data = type.includes("json") ? await res.json() : { success: res.ok, message: await res.text() };
  if (!res.ok || data.success === false) throw new Error(data.message || res.statusText);
  return data;
}

function cell(tr, text) {
  const td = document.createElement("td");
  td.textContent = text;
  tr.appendChild(td);
}

function renderStats(data) {
  const body = $("stats-table").querySelector("tbody");
  body.replaceChildren();
  for (const s of data.stats) {
    const tr = document.createElement("tr");
    tr.dataset.method = s.method;
    tr.dataset.name = s.name;
    if (s.name === "Aggregated" && s.method === "") tr.className = "total";
    cell(tr, s.method);
    cell(tr, s.name);
    cell(tr, String(s.num_requests));
    cell(tr, String(s.num_failures));
    cell(tr, String(s.median_response_time));
    cell(tr, String(s["response_time_percentile_0.95"]));
    cell(tr, String(s["response_time_percentile_0.99"]));
    cell(tr, fmt(s.avg_response_time, 1));
    cell(tr, String(s.min_response_time));
    cell(tr, String(s.max_response_time));
    cell(tr, fmt(s.avg_content_length, 0));
    cell(tr, fmt(s.current_rps, 1));
    cell(tr, fmt(s.current_fail_per_sec, 1));
    body.appendChild(tr);
  }
  const fails = $("failures-table").querySelector("tbody");
  fails.replaceChildren();
  for (const e of data.errors) {
    const tr = document.createElement("tr");
    cell(tr, String(e.occurrences));
    cell(tr, e.method);
    cell(tr, e.name);
    cell(tr, e.error);
    fails.appendChild(tr);
  }
}

// Locust's `workers` list, present only when the run is a master's.
function renderWorkers(data) {
  const panel = $("workers-panel");
  if (!Array.isArray(data.workers)) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  $("worker-count").textContent = String(data.worker_count);
  const body = $("workers-table").querySelector("tbody");
  body.replaceChildren();
  for (const w of data.workers) {
    const tr = document.createElement("tr");
    tr.dataset.id = w.id;
    cell(tr, w.id);
    cell(tr, w.state);
    cell(tr, String(w.user_count));
    cell(tr, fmt(w.cpu_usage, 1));
    cell(tr, fmt(w.memory_usage / 1048576, 1));
    body.appendChild(tr);
  }
}

function renderStatus(data) {
  $("state").textContent = data.state;
  $("users").textContent = String(data.user_count);
  $("rps").textContent = fmt(data.current_rps, 1);
  $("fail-ratio").textContent = fmt(100 * data.fail_ratio, 1) + "%";
  $("host").textContent = data.host || "-";
  const active = ["spawning", "running"].includes(data.state);
  // A master that takes no commands is shown, not steered.
  const steer = !data.read_only;
  $("stop-btn").disabled = !steer || !active;
  $("reset-btn").hidden = !steer;
  $("start-panel").hidden = !steer || active || data.state === "stopping";
  $("edit-panel").hidden = !steer || !active;
  // A read-only master's page serves no downloads: its files are written at the end
  // (--csv, --json, --html).
  document.querySelector('.tabs button[data-tab="downloads"]').hidden = !steer;
  if (data.state !== lastState) {
    if (active && !["spawning", "running"].includes(lastState)) {
      $("edit-users").value = data.target_user_count;
      $("edit-rate").value = $("start-rate").value;
      points.length = 0;
      lastSeq = 0;
    }
    if (data.last_error) message("The run failed: " + data.last_error, true);
    lastState = data.state;
  }
}

function scale(values, height) {
  const max = Math.max(1, ...values.filter((v) => v !== null && v !== undefined));
  return { max, y: (v) => height - (v / max) * (height - 16) };
}

function drawChart(svg, series) {
  const W = 600, H = 200;
  svg.replaceChildren();
  const all = series.flatMap((s) => s.values);
  const { max, y } = scale(all, H);
  for (const f of [0.25, 0.5, 0.75, 1]) {
    const line = document.createElementNS(SVG_NS, "line");
    line.setAttribute("class", "grid");
    line.setAttribute("x1", "0");
    line.setAttribute("x2", String(W));
    line.setAttribute("y1", String(y(max * f)));
    line.setAttribute("y2", String(y(max * f)));
    svg.appendChild(line);
  }
  const label = document.createElementNS(SVG_NS, "text");
  label.setAttribute("class", "axis");
  label.setAttribute("x", "4");
  label.setAttribute("y", "12");
  label.textContent = fmt(max, max < 10 ? 1 : 0);
  svg.appendChild(label);
  const n = series.length ? series[0].values.length : 0;
  if (n === 0) return;
  const x = (i) => (n === 1 ? W : (i / (n - 1)) * W);
  for (const s of series) {
    let d = "";
    s.values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      d += (d === "" ? "M" : "L") + x(i).toFixed(1) + "," + y(v).toFixed(1);
    });
    if (d === "") continue;
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("class", s.cls);
    path.setAttribute("d", d);
    svg.appendChild(path);
  }
}

function renderCharts() {
  drawChart($("chart-rps"), [
    { cls: "rps", values: points.map((p) => p.rps) },
    { cls: "fails", values: points.map((p) => p.fails_per_sec) },
  ]);
  drawChart($("chart-latency"), [
    { cls: "p50", values: points.map((p) => p.p50_ms) },
    { cls: "p95", values: points.map((p) => p.p95_ms) },
  ]);
  drawChart($("chart-users"), [{ cls: "users", values: points.map((p) => p.users) }]);
}

async function renderExceptions() {
  const res = await fetch("exceptions", { credentials: "same-origin" });
  if (!res.ok) return;
  const data = await res.json();
  const body = $("exceptions-table").querySelector("tbody");
  body.replaceChildren();
  for (const e of data.exceptions) {
    const tr = document.createElement("tr");
    cell(tr, String(e.count));
    cell(tr, e.msg);
    cell(tr, e.traceback);
    body.appendChild(tr);
  }
}

async function poll() {
  try {
    const res = await fetch("stats/requests", { credentials: "same-origin" });
    if (res.ok) {
      const data = await res.json();
      renderStatus(data);
      renderStats(data);
      renderWorkers(data);
    }
    const hist = await fetch("stats/history?since=" + lastSeq, { credentials: "same-origin" });
    if (hist.ok) {
      const h = await hist.json();
      for (const p of h.points) {
        if (p.seq < lastSeq) points.length = 0;
        points.push(p);
        lastSeq = p.seq;
      }
      if (points.length > 7200) points.splice(0, points.length - 7200);
    }
    renderCharts();
    await renderExceptions();
  } catch (e) {
    message("Cannot reach the runner: " + e.message, true);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

function showTab(name) {
  for (const b of document.querySelectorAll(".tabs button")) {
    b.classList.toggle("active", b.dataset.tab === name);
  }
  for (const t of ["stats", "charts", "failures", "exceptions", "downloads"]) {
    const visible = t === name || (name === "stats" && t === "charts");
    $("tab-" + t).hidden = !visible;
  }
}

async function init() {
  try {
    const res = await fetch("ui/settings", { credentials: "same-origin" });
    const s = await res.json();
    $("start-users").value = s.user_count;
    $("start-rate").value = s.spawn_rate;
    $("start-host").value = s.host || "";
    if (s.run_time_secs) $("start-run-time").value = s.run_time_secs + "s";
  } catch (e) {
    message("Cannot read the settings: " + e.message, true);
  }
  // Each control sends one command and shows its answer (or why it was refused).
  const command = (id, event, path, form, done) => {
    $(id).addEventListener(event, async (ev) => {
      ev.preventDefault();
      try {
        const r = await post(path, form ? $(form) : undefined);
        message(done || r.message, false);
      } catch (e) {
        message(e.message, true);
      }
    });
  };
  command("start-form", "submit", "swarm", "start-form");
  command("edit-form", "submit", "swarm", "edit-form");
  command("stop-btn", "click", "stop", null, "Stopping");
  command("reset-btn", "click", "stats/reset", null, "Statistics reset");
  for (const b of document.querySelectorAll(".tabs button")) {
    b.addEventListener("click", () => showTab(b.dataset.tab));
  }
  showTab("stats");
  poll();
}

document.addEventListener("DOMContentLoaded", init);
