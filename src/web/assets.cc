// The admin pages' assets as raw string literals (decision: docs/design/dashboard.md). The scripts
// build the DOM with createElement/textContent only: no innerHTML, no inline handlers, no eval, so
// the strict Content-Security-Policy of web.h holds and hostile names stay text.
#include "web/web.h"

namespace surge::web {
namespace {

constexpr std::string_view kCss =
    R"SURGE(:root{--bg:#f6f7f9;--fg:#1f2328;--muted:#59636e;--card:#fff;--line:#d0d7de;
--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--info:#0969da}
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:.25rem 1rem;padding:.75rem 1rem;background:#24292f;color:#fff}
header h1{font-size:1.1rem;margin:0}
.conn{font-size:.85rem;opacity:.9}
.conn.bad{color:#ffb4b4;font-weight:600}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,28rem),1fr));gap:1rem;padding:1rem;
max-width:110rem;margin:0 auto}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.75rem 1rem;min-width:0}
.card.wide{grid-column:1/-1}
h2{font-size:1rem;margin:0 0 .5rem}
h3{font-size:.85rem;margin:.75rem 0 .25rem;color:var(--muted)}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
th{font-weight:600;color:var(--muted);font-size:.75rem;text-transform:uppercase;letter-spacing:.02em;
overflow-wrap:normal;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:0 .45rem;border-radius:1rem;font-size:.8rem;font-weight:600;border:1px solid currentColor;
white-space:nowrap}
.state-ready,.state-healthy,.state-True{color:var(--ok)}
.state-starting{color:var(--info)}
.state-draining,.state-ejected{color:var(--warn)}
.state-unhealthy,.state-unready,.state-failed,.state-False{color:var(--bad)}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}
dl.kv dt{color:var(--muted)}
dl.kv dd{margin:0;overflow-wrap:anywhere}
.big{font-size:1.6rem;font-weight:700;font-variant-numeric:tabular-nums}
.chart{width:100%;height:auto;display:block}
.chart .grid{stroke:var(--line);stroke-width:1}
.chart text{font-size:13px;fill:var(--muted)}
.chart .line{fill:none;stroke-width:2}
.s0{stroke:#0969da;color:#0969da}
.s1{stroke:#bf3989;color:#bf3989;stroke-dasharray:6 4}
.s2{stroke:#1a7f37;color:#1a7f37}
.s3{stroke:#9a6700;color:#9a6700;stroke-dasharray:3 3}
.legend{display:flex;gap:1rem;font-size:.8rem;flex-wrap:wrap}
.legend span::before{content:"";display:inline-block;width:1rem;height:.2rem;background:currentColor;margin-right:.3rem;
vertical-align:middle}
ol.events{list-style:none;padding:0;margin:0;max-height:26rem;overflow:auto}
ol.events li{border-bottom:1px solid var(--line);padding:.35rem 0;overflow-wrap:anywhere}
ol.events .reason{font-weight:600}
ol.events .Warning .reason{color:var(--bad)}
.muted{color:var(--muted)}
.error{color:var(--bad);font-weight:600}
.ok{color:var(--ok);font-weight:600}
.msg{min-height:1.2em;margin:.25rem 0}
form.token{display:flex;gap:.5rem;flex-wrap:wrap;align-items:center}
form.token input{flex:1;min-width:12rem}
input,button{font:inherit;padding:.3rem .6rem;border:1px solid var(--line);border-radius:6px;background:#fff;color:inherit}
button{cursor:pointer;background:#f3f4f6}
button:hover{background:#e5e7eb}
footer{padding:0 1rem 1rem;color:var(--muted);font-size:.8rem;text-align:center}
a{color:var(--info)}
@media (max-width:640px){
main{padding:.5rem;gap:.5rem}
table.cards thead{display:none}
table.cards tr{display:block;border-bottom:2px solid var(--line);padding:.3rem 0}
table.cards td{display:flex;justify-content:space-between;gap:1rem;border:0;padding:.1rem 0;text-align:right}
table.cards td::before{content:attr(data-label);color:var(--muted);font-weight:600;text-align:left}
}
)SURGE";

// Shared helpers: DOM building (text only), number formatting, polling, an SVG line chart.
constexpr std::string_view kCommonJs = R"SURGE('use strict';
// surge admin pages: shared helpers. Strings from the server only ever become text nodes.
const S = {};
S.el = function (tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else e.setAttribute(k, String(v));
  }
  S.append(e, children);
  return e;
};
S.append = function (e, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
};
S.svg = function (tag, attrs, ...children) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  S.append(e, children);
  return e;
};
S.replace = function (node, ...children) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return S.append(node, children);
};
S.num = function (v) { return typeof v === 'number' && isFinite(v); };
// "—" for a value that is not known.
S.fmt = function (v, digits) {
  if (!S.num(v)) return '—';
  if (digits === undefined) digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return v.toFixed(digits);
};
S.fmtMs = function (v) { return S.num(v) ? S.fmt(v) + ' ms' : '—'; };
S.time = function (v) {
  if (v === null || v === undefined) return '—';
  const d = new Date(v);
  return isNaN(d) ? String(v) : d.toLocaleTimeString([], {hour12: false});
};
S.badge = function (state) {
  return S.el('span', {class: 'badge state-' + String(state).replace(/[^A-Za-z0-9_-]/g, '')}, state);
};
S.kv = function (pairs) {
  const dl = S.el('dl', {class: 'kv'});
  for (const [k, v] of pairs) S.append(dl, [S.el('dt', {}, k), S.el('dd', {}, v)]);
  return dl;
};
// columns: [{label, num}]; rows: [{attrs, cells: [text or Node]}]. On a narrow screen each row
// becomes a card whose cells are labelled with the column names (CSS data-label).
S.table = function (columns, rows, empty) {
  const head = S.el('tr', {}, columns.map(c => S.el('th', {class: c.num ? 'num' : null}, c.label)));
  const body = S.el('tbody');
  for (const r of rows) {
    const tr = S.el('tr', r.attrs || {});
    r.cells.forEach((c, i) => tr.appendChild(
        S.el('td', {class: columns[i].num ? 'num' : null, 'data-label': columns[i].label}, c)));
    body.appendChild(tr);
  }
  if (!rows.length && empty) {
    body.appendChild(S.el('tr', {}, S.el('td', {colspan: columns.length, class: 'muted'}, empty)));
  }
  return S.el('table', {class: 'cards'}, S.el('thead', {}, head), body);
};
// series: [{label, cls, points: [[x, y], ...]}] with x in ms since the epoch.
S.chart = function (title, series, opts) {
  opts = opts || {};
  const W = 600, H = 170, L = 46, R = 10, T = 10, B = 20;
  const svg = S.svg('svg', {viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title});
  const xs = [], ys = [];
  for (const s of series) {
    for (const p of s.points) if (S.num(p[0]) && S.num(p[1])) { xs.push(p[0]); ys.push(p[1]); }
  }
  const legend = S.el('div', {class: 'legend'},
      series.map(s => S.el('span', {class: s.cls}, s.label)));
  if (!xs.length) {
    svg.appendChild(S.svg('text', {x: W / 2, y: H / 2, 'text-anchor': 'middle'}, 'no data yet'));
    return S.el('figure', {class: 'plot'}, legend, svg);
  }
  let x0 = Math.min(...xs), x1 = Math.max(...xs);
  if (x1 - x0 < 1000) x1 = x0 + 1000;
  const y1 = Math.max(opts.minTop || 1, ...ys) * 1.15;
  const sx = x => L + (x - x0) / (x1 - x0) * (W - L - R);
  const sy = y => H - B - y / y1 * (H - B - T);
  for (const v of [0, y1 / 2, y1]) {
    svg.appendChild(S.svg('line', {x1: L, x2: W - R, y1: sy(v), y2: sy(v), class: 'grid'}));
    svg.appendChild(S.svg('text', {x: L - 4, y: sy(v) + 4, 'text-anchor': 'end'}, S.fmt(v)));
  }
  svg.appendChild(S.svg('text', {x: L, y: H - 4}, S.time(x0)));
  svg.appendChild(S.svg('text', {x: W - R, y: H - 4, 'text-anchor': 'end'}, S.time(x1)));
  for (const s of series) {
    const pts = s.points.filter(p => S.num(p[0]) && S.num(p[1]))
        .map(p => sx(p[0]).toFixed(1) + ',' + sy(p[1]).toFixed(1)).join(' ');
    if (pts) svg.appendChild(S.svg('polyline', {points: pts, class: 'line ' + s.cls}));
  }
  return S.el('figure', {class: 'plot'}, legend, svg);
};
S.card = function (parent, id, title, wide) {
  const body = S.el('div', {class: 'body'});
  parent.appendChild(S.el('section', {id: id, class: wide ? 'card wide' : 'card'}, S.el('h2', {}, title), body));
  return body;
};
// GET url (JSON) with extra headers → {status, body (parsed or null), error}.
S.getJson = async function (url, headers) {
  try {
    const r = await fetch(url, {cache: 'no-store', headers: headers || {}});
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    return {status: r.status, body: body, error: null};
  } catch (e) {
    return {status: 0, body: null, error: String(e && e.message || e)};
  }
};
// Calls fn() now and every `ms` after it finished.
S.poll = function (fn, ms) {
  const tick = async () => {
    try { await fn(); } catch (e) { S.connection('page error: ' + (e && e.message || e), true); }
    setTimeout(tick, ms);
  };
  tick();
};
S.connection = function (text, bad) {
  const c = document.getElementById('conn');
  if (!c) return;
  c.textContent = text;
  c.className = bad ? 'conn bad' : 'conn';
};
)SURGE";

// The autoscaler dashboard: polls /api/dashboard.
constexpr std::string_view kAutoscalerJs = R"SURGE('use strict';
(function () {
  const app = document.getElementById('app');
  const summary = S.card(app, 'summary', 'Autoscaler');
  const replicas = S.card(app, 'replicas', 'Replicas', true);
  const traffic = S.card(app, 'traffic', 'Traffic');
  const size = S.card(app, 'size', 'Replicas over time');
  const metrics = S.card(app, 'metrics', 'Metrics and conditions');
  const events = S.card(app, 'events', 'Scale events');

  function renderSummary(d) {
    const s = d.status || {};
    const dec = s.lastDecision || {};
    const live = (d.replicas || []).filter(r => r.state !== 'draining');
    const ready = live.filter(r => r.state === 'ready').length;
    S.replace(summary,
      S.el('div', {class: 'big', id: 'replica-count'},
        `${s.currentReplicas ?? '—'} → ${s.desiredReplicas ?? '—'}`),
      S.kv([
        ['name', s.name || '—'],
        ['replicas', `current ${s.currentReplicas ?? '—'}, desired ${s.desiredReplicas ?? '—'} ` +
                     `(min ${s.minReplicas ?? '—'}, max ${s.maxReplicas ?? '—'})`],
        ['ready', d.replicas ? `${ready} of ${live.length}` : '—'],
        ['last decision', s.lastDecision
            ? `reactive ${dec.reactiveReplicas}` +
              (dec.predictiveReplicas != null ? `, predictive ${dec.predictiveReplicas}` : '') +
              ` → ${dec.desiredReplicas}` + (dec.held ? ' (held: metrics missing)' : '') +
              (dec.reason ? ` — ${dec.reason}` : '')
            : '—'],
        ['panic mode', dec.panicking ? 'on' : 'off'],
        ['predictive', d.predictive ? (s.forecaster || 'on') : 'off'],
        ['mode', s.dryRun ? 'dry run (never scales)' : 'live'],
        ['syncs', `${s.syncs ?? 0} (${s.syncErrors ?? 0} failed), last ${S.time(s.lastSyncTime)}`],
        ['scale events', `${s.scaleUps ?? 0} up, ${s.scaleDowns ?? 0} down, last ${S.time(s.lastScaleTime)}`],
      ]));
  }

  function renderReplicas(d) {
    if (!d.replicas) {
      S.replace(replicas, S.el('p', {class: 'muted'},
          'This autoscaler does not run the replicas itself (kind: kubernetes): see the target.'));
      return;
    }
    const cols = [{label: 'Replica'}, {label: 'State'}, {label: 'Zone'}, {label: 'Address'},
                  {label: 'req/s', num: true}, {label: 'p50', num: true}, {label: 'p99', num: true},
                  {label: 'Queue', num: true}, {label: 'Batch', num: true}];
    const rows = d.replicas.map(r => ({
      attrs: {class: 'replica', 'data-name': r.name, 'data-state': r.state},
      cells: [r.name, S.badge(r.state), r.zone || '—', r.address || '—', S.fmt(r.rps),
              S.fmtMs(r.p50Ms), S.fmtMs(r.p99Ms), S.fmt(r.queue, 0), S.fmt(r.batchSize, 1)],
    }));
    S.replace(replicas, S.table(cols, rows, 'no replicas yet'),
        S.el('p', {class: 'muted'}, d.replicaNote || ''));
  }

  function renderCharts(d) {
    const h = d.history || [];
    const horizon = (d.horizonSeconds || 0) * 1000;
    const rps = [{label: 'observed req/s', cls: 's0', points: h.map(p => [p.t, p.observedRps])}];
    if (d.predictive) {
      rps.push({label: `forecast (plotted at its target time, +${d.horizonSeconds} s)`, cls: 's1',
                points: h.map(p => [p.t + horizon, p.forecastRps])});
    }
    S.replace(traffic, S.chart('request rate', rps));
    S.replace(size, S.chart('replicas', [
      {label: 'current', cls: 's2', points: h.map(p => [p.t, p.current])},
      {label: 'desired', cls: 's3', points: h.map(p => [p.t, p.desired])},
    ], {minTop: 1}));
  }

  function renderMetrics(d) {
    const s = d.status || {};
    const cols = [{label: 'Metric'}, {label: 'Current / target'}, {label: 'Proposal', num: true}];
    const rows = (s.currentMetrics || []).map(m => ({
      attrs: {class: 'metric'},
      cells: [`${m.type} ${m.name}`, m.error ? S.el('span', {class: 'error'}, m.error) : (m.description || '—'),
              m.proposal ?? '—'],
    }));
    // ScalingLimited True is the notable state; for the others False is.
    const conds = (s.conditions || []).map(c => {
      const notable = c.type === 'ScalingLimited' ? c.status === 'True' : c.status !== 'True';
      const cls = notable ? (c.type === 'ScalingLimited' ? 'state-draining' : 'state-failed') : 'state-ready';
      return S.el('li', {class: 'condition'}, S.el('span', {class: 'badge ' + cls}, c.status), ' ',
                  S.el('b', {}, c.type), ' ', c.reason, ': ', c.message);
    });
    S.replace(metrics, S.table(cols, rows, 'no metric results yet'),
        S.el('h3', {}, 'Conditions'), S.el('ul', {class: 'conditions'}, conds));
  }

  function renderEvents(d) {
    const list = (d.events || []).slice().reverse();
    if (!list.length) { S.replace(events, S.el('p', {class: 'muted'}, 'no events yet')); return; }
    S.replace(events, S.el('ol', {class: 'events'}, list.map(e => S.el('li',
        {class: 'event ' + (e.type === 'Warning' ? 'Warning' : 'Normal')},
        S.el('span', {class: 'muted'}, S.time(e.time) + ' '),
        S.el('span', {class: 'reason'}, e.reason),
        e.from !== e.to ? ` ${e.from} → ${e.to}` : '',
        e.count > 1 ? ` (×${e.count})` : '',
        S.el('div', {}, e.message)))));
  }

  S.poll(async function () {
    const r = await S.getJson('/api/dashboard');
    if (r.status !== 200 || !r.body) {
      S.connection(r.error ? 'autoscaler unreachable: ' + r.error : 'HTTP ' + r.status, true);
      return;
    }
    const d = r.body;
    document.title = `${(d.status && d.status.name) || 'surge'} — surge autoscaler`;
    renderSummary(d); renderReplicas(d); renderCharts(d); renderMetrics(d); renderEvents(d);
    S.connection('live · updated ' + S.time(Date.now()), false);
  }, 1500);
})();
)SURGE";

// The gateway stats page: polls /backends with the admin token; drain/undrain buttons.
constexpr std::string_view kGatewayJs = R"SURGE('use strict';
(function () {
  const app = document.getElementById('app');
  let token = '';
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (m) {
    token = decodeURIComponent(m[1]);
    history.replaceState(null, '', location.pathname + location.search);  // not left in the URL bar
  } else {
    try { token = sessionStorage.getItem('surge-admin-token') || ''; } catch (e) { token = ''; }
  }
  function saveToken() { try { sessionStorage.setItem('surge-admin-token', token); } catch (e) {} }
  saveToken();
  function auth() { return token ? {'Authorization': 'Bearer ' + token} : {}; }

  const access = S.card(app, 'access', 'Admin token');
  const input = S.el('input', {type: 'password', id: 'token', autocomplete: 'off',
                               placeholder: 'bearer token (if the admin API has one)', 'aria-label': 'admin token'});
  input.value = token;
  const form = S.el('form', {class: 'token', on: {submit: e => {
    e.preventDefault(); token = input.value.trim(); saveToken(); refresh();
  }}}, input, S.el('button', {type: 'submit'}, 'Use token'));
  const authMsg = S.el('p', {class: 'msg', id: 'auth'});
  const actionMsg = S.el('p', {class: 'msg', id: 'action'});
  S.append(access, [form, authMsg, actionMsg]);
  const summary = S.card(app, 'summary', 'Cluster');
  const backends = S.card(app, 'backends', 'Backends', true);

  const last = new Map();  // address → [time ms, requests] for a client-side request rate

  function say(node, text, cls) { node.textContent = text; node.className = 'msg ' + (cls || ''); }

  async function call(method, url, body) {
    const headers = Object.assign({'Content-Type': 'application/json'}, auth());
    try {
      const r = await fetch(url, {method: method, headers: headers, cache: 'no-store',
                                  body: body === undefined ? undefined : JSON.stringify(body)});
      let j = null;
      try { j = await r.json(); } catch (e) { j = null; }
      return {status: r.status, body: j};
    } catch (e) {
      return {status: 0, body: {error: String(e && e.message || e)}};
    }
  }

  function explain(status, body) {
    const why = body && body.error ? body.error : '';
    if (status === 401 || status === 403) {
      return `${status}: ${why || 'not allowed'} — type the admin token above (or open this page as /#token=…)`;
    }
    return `${status || 'network error'}: ${why}`;
  }

  async function drain(b) {
    const r = await call('DELETE', '/backends/' + encodeURIComponent(b.address) + '?drain=true');
    if (r.status === 200 || r.status === 202) say(actionMsg, `draining ${b.address} (HTTP ${r.status})`, 'ok');
    else say(actionMsg, `drain ${b.address} failed: ` + explain(r.status, r.body), 'error');
    refresh();
  }
  async function undrain(b) {
    const r = await call('POST', '/backends', {address: b.address, weight: b.weight, zone: b.zone});
    if (r.status === 201) say(actionMsg, `${b.address} is back in rotation (HTTP 201)`, 'ok');
    else say(actionMsg, `undrain ${b.address} failed: ` + explain(r.status, r.body), 'error');
    refresh();
  }

  function render(d) {
    const list = d.backends || [];
    const count = st => list.filter(b => b.health === st).length;
    S.replace(summary, S.kv([
      ['backends', String(list.length)],
      ['eligible for traffic', String(d.eligible ?? '—')],
      ['healthy / unhealthy', `${count('healthy')} / ${count('unhealthy')}`],
      ['ejected / draining', `${count('ejected')} / ${count('draining')}`],
      ['panic routing', d.panic ? 'yes (too few healthy: routing to all)' : 'no'],
    ]));
    const now = Date.now();
    const cols = [{label: 'Backend'}, {label: 'Health'}, {label: 'Zone'}, {label: 'Weight', num: true},
                  {label: 'In flight', num: true}, {label: 'req/s', num: true}, {label: 'Requests', num: true},
                  {label: 'Errors', num: true}, {label: 'Latency (EWMA)', num: true}, {label: 'Ejection'},
                  {label: 'Action'}];
    const rows = list.map(b => {
      const prev = last.get(b.address);
      let rate = null;
      if (prev && now > prev[0] && b.requests >= prev[1]) rate = (b.requests - prev[1]) * 1000 / (now - prev[0]);
      last.set(b.address, [now, b.requests]);
      const ej = b.ejection || {};
      const ejText = ej.ejected ? `ejected, ${S.fmt(ej.remaining_s, 0)} s left (${ej.ejections}×)`
                                : (ej.ejections ? `${ej.ejections} past` : 'no');
      const button = b.draining
          ? S.el('button', {type: 'button', class: 'undrain', on: {click: () => undrain(b)}}, 'Undrain')
          : S.el('button', {type: 'button', class: 'drain', on: {click: () => drain(b)}}, 'Drain');
      return {attrs: {class: 'backend', 'data-address': b.address, 'data-health': b.health},
              cells: [b.address, S.badge(b.health), b.zone || '—', String(b.weight), String(b.in_flight),
                      S.fmt(rate), String(b.requests), String(b.errors), S.fmtMs(b.ewma_latency_ms), ejText, button]};
    });
    S.replace(backends, S.table(cols, rows, 'no backends'));
  }

  async function refresh() {
    const r = await S.getJson('/backends', auth());
    if (r.status === 200 && r.body) {
      say(authMsg, token ? 'token accepted' : 'no token needed', 'muted');
      render(r.body);
      S.connection('live · updated ' + S.time(Date.now()), false);
    } else if (r.status === 401 || r.status === 403) {
      say(authMsg, explain(r.status, r.body), 'error');
      S.connection('needs the admin token', true);
    } else {
      S.connection(r.error ? 'gateway unreachable: ' + r.error : 'HTTP ' + r.status, true);
    }
  }
  S.poll(refresh, 2000);
})();
)SURGE";

constexpr std::string_view kAutoscalerHtml = R"SURGE(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>surge autoscaler</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/surge.css">
<script src="/surge.js" defer></script>
<script src="/autoscaler.js" defer></script>
</head>
<body>
<header><h1>surge autoscaler</h1><span id="conn" class="conn">loading…</span></header>
<main id="app"><noscript>This page needs JavaScript; its data is at /api/dashboard.</noscript></main>
<footer>JSON: <a href="/api/dashboard">/api/dashboard</a> · <a href="/status">/status</a> ·
<a href="/events">/events</a> · <a href="/metrics">/metrics</a></footer>
</body>
</html>
)SURGE";

constexpr std::string_view kGatewayHtml = R"SURGE(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>surge gateway</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/surge.css">
<script src="/surge.js" defer></script>
<script src="/gateway.js" defer></script>
</head>
<body>
<header><h1>surge gateway</h1><span id="conn" class="conn">loading…</span></header>
<main id="app"><noscript>This page needs JavaScript; its data is at /backends.</noscript></main>
<footer>JSON: <a href="/backends">/backends</a> · <a href="/metrics">/metrics</a> ·
<a href="/healthz">/healthz</a></footer>
</body>
</html>
)SURGE";

}  // namespace

std::string_view stylesheet() { return kCss; }
std::string_view commonScript() { return kCommonJs; }
std::string_view pageScript(Page page) {
  return page == Page::kAutoscaler ? kAutoscalerJs : kGatewayJs;
}
std::string_view pageHtml(Page page) {
  return page == Page::kAutoscaler ? kAutoscalerHtml : kGatewayHtml;
}

}  // namespace surge::web
