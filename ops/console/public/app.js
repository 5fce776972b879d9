/* global window, document, sessionStorage, fetch, EventSource, location, Node, URLSearchParams */
// The tickflow console page: loads each panel from the read API, then keeps it current from /api/stream.
// Everything shown comes from JSON and is written with textContent (never parsed as HTML).
import {
  AreaSeries,
  CandlestickSeries,
  ColorType,
  HistogramSeries,
  createChart,
  createSeriesMarkers,
} from '/vendor/lightweight-charts.mjs';

const TOKEN_KEY = 'tickflow.console.token';
const MAX_ROWS = 200;
const INTERVAL_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 };

/** Test hooks (tests/integration/console.test.ts reads them). */
const hooks = { ready: false, instrument: null, interval: null, barsLoaded: 0, barsDrawn: 0, markers: 0, events: {} };
window.__tickflow = hooks;

const state = {
  instruments: [],
  instrument: null,
  interval: '1m',
  bars: new Map(), // time (s) -> bar
  signals: new Map(),
  decisions: new Map(),
  orders: new Map(), // orderId -> latest event
  fills: new Map(),
  positions: new Map(),
  pnl: new Map(), // account -> { latest, curve: Map(time -> point) }
  account: null,
  audit: new Map(),
  quality: new Map(),
  chartSignals: [],
  chartOrders: [],
  chartFills: [],
  source: null,
};

const $ = (id) => document.getElementById(id);

// ---- formatting ----

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function shortTime(iso) {
  if (!iso) return '';
  return iso
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '')
    .replace(/Z$/, '');
}

function signed(value) {
  if (value === null || value === undefined) return '';
  return String(value).startsWith('-') ? 'down' : String(value) === '0' ? '' : 'up';
}

/** Groups the integer part of a decimal string in threes (display only; the string stays exact). */
function money(value, places = 2) {
  if (value === null || value === undefined) return '';
  const [whole, fraction = ''] = String(value).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const cut = fraction.slice(0, places).padEnd(places, '0');
  const text = places > 0 ? `${grouped}.${cut}` : grouped;
  return /^-[0,.]*$/.test(text) ? text.slice(1) : text;
}

function toSeconds(iso) {
  return Math.floor(Date.parse(iso) / 1000);
}

function badge(text, cls) {
  return el('span', text, `badge ${cls ?? text}`);
}

function cells(tr, values) {
  for (const v of values) {
    if (v instanceof Node) {
      const td = document.createElement('td');
      td.appendChild(v);
      tr.appendChild(td);
    } else if (Array.isArray(v)) {
      tr.appendChild(el('td', v[0], v[1]));
    } else tr.appendChild(el('td', v));
  }
  return tr;
}

// ---- API ----

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

async function api(path, init = {}) {
  const headers = { Accept: 'application/json', ...(init.headers || {}) };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  const response = await fetch(path, { ...init, headers, credentials: 'same-origin' });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.message || `HTTP ${response.status}`);
    error.status = response.status;
    error.body = body;
    throw error;
  }
  return body;
}

// ---- market chart ----

const chart = createChart($('chart'), {
  autoSize: true,
  layout: {
    background: { type: ColorType.Solid, color: '#121820' },
    textColor: '#9aa7b8',
    fontSize: 11,
    attributionLogo: false,
  },
  grid: { vertLines: { color: '#1b2430' }, horzLines: { color: '#1b2430' } },
  rightPriceScale: { borderColor: '#243041' },
  timeScale: { borderColor: '#243041', timeVisible: true, secondsVisible: false },
  crosshair: { mode: 0 },
});
const candles = chart.addSeries(CandlestickSeries, {
  upColor: '#26a69a',
  downColor: '#ef5350',
  borderVisible: false,
  wickUpColor: '#26a69a',
  wickDownColor: '#ef5350',
});
candles.priceScale().applyOptions({ scaleMargins: { top: 0.06, bottom: 0.26 } });
const volume = chart.addSeries(HistogramSeries, { priceFormat: { type: 'volume' }, priceScaleId: 'volume' });
volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
const markers = createSeriesMarkers(candles, []);

function candleOf(bar) {
  return {
    time: toSeconds(bar.ts),
    open: Number(bar.open),
    high: Number(bar.high),
    low: Number(bar.low),
    close: Number(bar.close),
  };
}

function volumeOf(bar) {
  const up = Number(bar.close) >= Number(bar.open);
  return { time: toSeconds(bar.ts), value: Number(bar.volume), color: up ? '#26a69a55' : '#ef535055' };
}

function drawBars() {
  const bars = [...state.bars.values()].sort((a, b) => toSeconds(a.ts) - toSeconds(b.ts));
  candles.setData(bars.map(candleOf));
  volume.setData(bars.map(volumeOf));
  hooks.barsDrawn = candles.data().length;
  const last = bars[bars.length - 1];
  legend(last);
  drawMarkers();
}

function legend(bar) {
  $('chart-legend').textContent = bar
    ? `${state.instrument} ${state.interval}  O ${bar.open}  H ${bar.high}  L ${bar.low}  C ${bar.close}  V ${bar.volume}`
    : `${state.instrument ?? ''} — no bars`;
}

function intervalSeconds() {
  const m = /^(\d+)([smhd])$/.exec(state.interval);
  return m ? Number(m[1]) * INTERVAL_SECONDS[m[2]] : 60;
}

/** Markers sit on the bar that holds their time; those outside the drawn bars are left out. */
function drawMarkers() {
  const step = intervalSeconds();
  const times = [...state.bars.keys()];
  if (times.length === 0) {
    markers.setMarkers([]);
    hooks.markers = 0;
    return;
  }
  const first = Math.min(...times);
  const last = Math.max(...times);
  const list = [];
  const place = (iso, marker) => {
    const t = Math.floor(toSeconds(iso) / step) * step;
    if (t < first || t > last || !state.bars.has(t)) return;
    list.push({ time: t, ...marker });
  };
  for (const s of state.chartSignals) {
    const buy = s.side === 'BUY';
    if (s.status === 'ACCEPTED')
      place(s.ts, {
        position: buy ? 'belowBar' : 'aboveBar',
        shape: buy ? 'arrowUp' : 'arrowDown',
        color: '#4c9aff',
      });
    else place(s.ts, { position: buy ? 'belowBar' : 'aboveBar', shape: 'circle', color: '#8592a6', size: 0.6 });
  }
  for (const o of state.chartOrders)
    place(o.ts, { position: o.side === 'BUY' ? 'belowBar' : 'aboveBar', shape: 'square', color: '#f0b429', size: 0.6 });
  for (const f of state.chartFills)
    place(f.ts, {
      position: 'inBar',
      shape: 'circle',
      color: '#e879f9',
      size: 0.8,
    });
  list.sort((a, b) => a.time - b.time);
  markers.setMarkers(list);
  hooks.markers = list.length;
}

function applyBar(bar) {
  if (bar.instrumentId !== state.instrument || bar.interval !== state.interval) return;
  const time = toSeconds(bar.ts);
  const newest = state.bars.size > 0 ? Math.max(...state.bars.keys()) : -Infinity;
  state.bars.set(time, bar);
  if (time >= newest) {
    candles.update(candleOf(bar));
    volume.update(volumeOf(bar));
    hooks.barsDrawn = candles.data().length;
    legend(bar);
  } else drawBars();
}

async function loadChart() {
  const params = new URLSearchParams({ instrument: state.instrument, interval: state.interval, limit: '1000' });
  const [{ bars }, { signals }, { orders }, { fills }] = await Promise.all([
    api(`/api/marketdata?${params}`),
    api(`/api/signals?${new URLSearchParams({ instrument: state.instrument, limit: '1000' })}`),
    api(`/api/orders?${new URLSearchParams({ instrument: state.instrument, status: 'ACCEPTED', limit: '1000' })}`),
    api(`/api/fills?${new URLSearchParams({ instrument: state.instrument, limit: '1000' })}`),
  ]);
  state.bars = new Map(
    bars.map((b) => [toSeconds(b.ts), { ...b, instrumentId: state.instrument, interval: state.interval }]),
  );
  state.chartSignals = signals;
  state.chartOrders = orders;
  state.chartFills = fills;
  hooks.barsLoaded = bars.length;
  hooks.instrument = state.instrument;
  hooks.interval = state.interval;
  chart.applyOptions({ timeScale: { secondsVisible: state.interval.endsWith('s') } });
  drawBars();
  chart.timeScale().fitContent();
}

// ---- tables ----

function renderRows(tbodyId, items, build, fresh) {
  const tbody = $(tbodyId);
  tbody.replaceChildren(
    ...items.slice(0, MAX_ROWS).map((item) => {
      const tr = build(item);
      if (fresh && fresh.has(item)) tr.classList.add('fresh');
      return tr;
    }),
  );
}

function newestFirst(map, key = (r) => r.ts) {
  return [...map.values()].sort((a, b) => String(key(b)).localeCompare(String(key(a))));
}

function trim(map) {
  if (map.size <= MAX_ROWS * 2) return;
  const keep = newestFirst(map).slice(0, MAX_ROWS);
  map.clear();
  for (const r of keep) map.set(r.__key, r);
}

function put(map, key, row) {
  row.__key = key;
  map.set(key, row);
  trim(map);
}

function renderSignals(fresh) {
  renderRows(
    'signal-rows',
    newestFirst(state.signals),
    (s) => {
      const tr = cells(document.createElement('tr'), [
        [shortTime(s.ts), 'time'],
        s.instrumentId,
        s.strategy,
        [s.side, s.side === 'BUY' ? 'up' : 'down'],
        [s.price, 'num'],
        [Number(s.confidence).toFixed(2), 'num'],
        badge(s.status === 'REJECTED' ? s.rejectCode || 'REJECTED' : 'ACCEPTED', s.status),
      ]);
      tr.dataset.id = s.id;
      tr.title = s.reason + (s.rejectDetail ? ` — ${s.rejectDetail}` : '');
      return tr;
    },
    fresh,
  );
}

function renderDecisions(fresh) {
  renderRows(
    'decision-rows',
    newestFirst(state.decisions),
    (d) => {
      const tr = cells(document.createElement('tr'), [
        [shortTime(d.ts), 'time'],
        d.account,
        d.instrumentId,
        [d.side, d.side === 'BUY' ? 'up' : 'down'],
        [d.quantity ?? '', 'num'],
        badge(d.approved ? 'approved' : 'rejected'),
        (d.reasonCodes || []).join(', ') || '—',
      ]);
      tr.dataset.id = d.decisionId;
      tr.title = JSON.stringify(d.reasons || []);
      return tr;
    },
    fresh,
  );
}

const TERMINAL = new Set(['FILLED', 'CANCELED', 'EXPIRED', 'REJECTED']);

function renderOrders(fresh) {
  const open = newestFirst(state.orders).filter((o) => !TERMINAL.has(o.status));
  $('open-count').textContent = `${open.length} open`;
  renderRows(
    'order-rows',
    open,
    (o) => {
      const tr = cells(document.createElement('tr'), [
        [shortTime(o.ts), 'time'],
        o.account,
        o.instrumentId,
        [o.side, o.side === 'BUY' ? 'up' : 'down'],
        o.type,
        [o.quantity, 'num'],
        [o.filledQuantity, 'num'],
        badge(o.status),
      ]);
      tr.dataset.id = o.orderId;
      return tr;
    },
    fresh,
  );
}

function renderFills(fresh) {
  renderRows(
    'fill-rows',
    newestFirst(state.fills),
    (f) => {
      const tr = cells(document.createElement('tr'), [
        [shortTime(f.ts), 'time'],
        f.account,
        f.instrumentId,
        [f.side, f.side === 'BUY' ? 'up' : 'down'],
        [f.quantity, 'num'],
        [f.price, 'num'],
        [f.fee, 'num'],
      ]);
      tr.dataset.id = f.fillId;
      return tr;
    },
    fresh,
  );
}

function renderPositions(fresh) {
  const rows = [...state.positions.values()].sort(
    (a, b) => Number(b.quantity !== '0') - Number(a.quantity !== '0') || String(b.ts).localeCompare(String(a.ts)),
  );
  renderRows(
    'position-rows',
    rows,
    (p) => {
      const tr = cells(document.createElement('tr'), [
        p.account,
        p.instrumentId,
        [p.quantity, `num ${signed(p.quantity)}`],
        [p.avgCost, 'num'],
        [p.markPrice ?? '', 'num'],
        [money(p.unrealizedPnl), `num ${signed(p.unrealizedPnl)}`],
        [money(p.realizedPnl), `num ${signed(p.realizedPnl)}`],
      ]);
      tr.dataset.id = `${p.account}|${p.instrumentId}`;
      return tr;
    },
    fresh,
  );
}

function renderAudit(fresh) {
  renderRows(
    'audit-rows',
    newestFirst(state.audit, (a) => `${a.tsRecorded}|${a.ts}`),
    (a) => {
      const tr = cells(document.createElement('tr'), [
        [shortTime(a.tsRecorded), 'time'],
        a.account,
        badge(a.kind, a.kind === 'HALT' ? 'HALTED' : a.kind === 'RESUME' ? 'ACTIVE' : ''),
        a.actor,
        a.summary,
      ]);
      tr.dataset.id = a.auditId;
      tr.title = a.summary;
      return tr;
    },
    fresh,
  );
}

function renderQuality(fresh) {
  renderRows(
    'quality-rows',
    newestFirst(state.quality),
    (q) => {
      const tr = cells(document.createElement('tr'), [
        [shortTime(q.ts), 'time'],
        q.instrumentId,
        badge(q.rule, 'paused'),
        q.stage,
        q.detail,
      ]);
      tr.title = `${q.origin}: ${q.detail}`;
      return tr;
    },
    fresh,
  );
}

// ---- P&L ----

const equityChart = createChart($('equity-chart'), {
  autoSize: true,
  layout: {
    background: { type: ColorType.Solid, color: '#121820' },
    textColor: '#9aa7b8',
    fontSize: 10,
    attributionLogo: false,
  },
  grid: { vertLines: { visible: false }, horzLines: { color: '#1b2430' } },
  rightPriceScale: { borderColor: '#243041' },
  timeScale: { borderColor: '#243041', timeVisible: true },
});
const equity = equityChart.addSeries(AreaSeries, {
  lineColor: '#4c9aff',
  topColor: '#4c9aff44',
  bottomColor: '#4c9aff05',
  lineWidth: 2,
});

function renderPnl() {
  const select = $('account-select');
  const accounts = [...state.pnl.keys()].sort();
  if (!state.account || !state.pnl.has(state.account)) {
    // The account that traded last.
    state.account =
      accounts.sort((a, b) =>
        String(state.pnl.get(b).latest.ts).localeCompare(String(state.pnl.get(a).latest.ts)),
      )[0] ?? null;
  }
  const current = [...select.options].map((o) => o.value).join(',');
  if (current !== [...state.pnl.keys()].sort().join(',')) {
    select.replaceChildren(...[...state.pnl.keys()].sort().map((a) => el('option', a)));
    $('account-options').replaceChildren(...[...state.pnl.keys()].sort().map((a) => el('option', a)));
  }
  if (state.account) select.value = state.account;
  const entry = state.account ? state.pnl.get(state.account) : null;
  const summary = $('pnl-summary');
  if (!entry) {
    summary.replaceChildren(el('div', 'no P&L yet'));
    equity.setData([]);
    return;
  }
  const l = entry.latest;
  const stat = (label, value, cls) => {
    const d = el('div');
    d.append(el('span', label), el('b', value, cls));
    return d;
  };
  summary.replaceChildren(
    stat('equity', money(l.equity)),
    stat('day P&L', money(l.dayPnl), signed(l.dayPnl)),
    stat('drawdown', money(l.drawdown), Number(l.drawdown) > 0 ? 'down' : ''),
    stat('state', l.tradingState, l.tradingState === 'ACTIVE' ? 'up' : 'down'),
  );
  const points = [...entry.curve.values()].sort((a, b) => a.time - b.time);
  equity.setData(points);
  equityChart.timeScale().fitContent();
}

function renderTradingStates() {
  const box = $('trading-states');
  box.replaceChildren(
    ...[...state.pnl.values()]
      .sort((a, b) => a.latest.account.localeCompare(b.latest.account))
      .map((p) => badge(`${p.latest.account}: ${p.latest.tradingState}`, p.latest.tradingState)),
  );
}

function addPnl(row) {
  const entry = state.pnl.get(row.account) ?? { latest: row, curve: new Map() };
  if (String(row.ts) >= String(entry.latest.ts)) entry.latest = row;
  entry.curve.set(toSeconds(row.ts), { time: toSeconds(row.ts), value: Number(row.equity) });
  state.pnl.set(row.account, entry);
}

// ---- pipeline ----

function renderPipeline(view) {
  state.source = view.source;
  $('pipeline-source').textContent =
    view.source === 'pipeline' ? `namespace '${view.namespace || 'default'}'` : 'from QuestDB';
  const note = $('pipeline-note');
  note.hidden = !view.note;
  note.textContent = view.note ?? '';
  const pill = $('pipeline-state');
  pill.textContent =
    view.ready === null ? 'pipeline: not in this process' : view.ready ? 'pipeline: ready' : 'pipeline: not ready';
  pill.className = `pill ${view.ready === null ? '' : view.ready ? 'pill-on' : 'pill-bad'}`;
  const rate = (v) => (v === null || v === undefined ? '–' : v >= 1000 ? `${(v / 1000).toFixed(1)}k` : String(v));
  $('pipeline-rows').replaceChildren(
    ...view.runners.map((r) => {
      const tr = document.createElement('tr');
      const dot = el('span', '', `dot ${r.health}`);
      dot.title = r.health;
      const name = el('td');
      name.append(el('span', r.name));
      if (r.kind === 'chain') name.append(' ', badge('fused', 'ok'));
      if (r.kind === 'sink') name.append(' ', badge('sink', ''));
      name.title = `in: ${r.inputs.join(', ')}\nout: ${r.outputs.join(', ')}`;
      const dotCell = el('td');
      dotCell.append(dot);
      tr.append(dotCell, name);
      cells(tr, [
        [rate(r.rateIn), 'num'],
        [rate(r.rateOut), 'num'],
        [r.lag ?? '–', 'num'],
        [r.deadLetters, 'num'],
      ]);
      tr.dataset.id = r.name;
      tr.dataset.health = r.health;
      return tr;
    }),
  );
  $('table-rows').replaceChildren(
    ...view.tables.map((t) =>
      cells(document.createElement('tr'), [
        t.name,
        [t.rows.toLocaleString('en-US'), 'num'],
        [shortTime(t.lastTs), 'time'],
        t.suspended
          ? badge('suspended', 'down')
          : t.walBacklog
            ? badge(`${t.walBacklog} pending`, 'paused')
            : badge('ok'),
      ]),
    ),
  );
  $('feed-rows').replaceChildren(
    ...view.feeds.map((f) =>
      cells(document.createElement('tr'), [f.source, [f.instruments, 'num'], [shortTime(f.lastTs), 'time']]),
    ),
  );
}

// ---- loading ----

async function loadSignals() {
  const { signals } = await api('/api/signals?limit=100');
  state.signals.clear();
  for (const s of signals) put(state.signals, s.id, s);
  renderSignals();
}

async function loadRisk() {
  const { decisions, accounts, audit } = await api('/api/risk?limit=100');
  state.decisions.clear();
  for (const d of decisions) put(state.decisions, d.decisionId, d);
  state.audit.clear();
  for (const a of audit) put(state.audit, a.auditId, a);
  for (const a of accounts) addPnl(a);
  renderDecisions();
  renderAudit();
  renderTradingStates();
}

async function loadOrders() {
  const { orders } = await api('/api/orders?status=open&limit=200');
  state.orders.clear();
  for (const o of orders) put(state.orders, o.orderId, o);
  renderOrders();
}

async function loadFills() {
  const { fills } = await api('/api/fills?limit=100');
  state.fills.clear();
  for (const f of fills) put(state.fills, f.fillId, f);
  renderFills();
}

async function loadPositions() {
  const { positions } = await api('/api/positions');
  state.positions.clear();
  for (const p of positions) state.positions.set(`${p.account}|${p.instrumentId}`, p);
  renderPositions();
}

async function loadPnl() {
  const { accounts } = await api('/api/pnl?limit=5000');
  for (const a of accounts) {
    addPnl(a.latest);
    const entry = state.pnl.get(a.account);
    for (const c of a.curve) entry.curve.set(toSeconds(c.ts), { time: toSeconds(c.ts), value: Number(c.equity) });
  }
  renderPnl();
  renderTradingStates();
}

async function loadQuality() {
  const { findings, summary } = await api('/api/quality?limit=100');
  state.quality.clear();
  for (const q of findings) put(state.quality, `${q.ts}|${q.instrumentId}|${q.rule}|${q.origin}`, q);
  $('quality-summary').textContent = summary
    .slice(0, 4)
    .map((s) => `${s.rule} ${s.findings}`)
    .join(' · ');
  renderQuality();
}

async function loadPipeline() {
  renderPipeline(await api('/api/pipeline'));
}

const LOADERS = {
  signal: loadSignals,
  decision: loadRisk,
  order: loadOrders,
  fill: loadFills,
  position: loadPositions,
  pnl: loadPnl,
  audit: loadRisk,
  quality: loadQuality,
};

async function loadInstruments() {
  const { instruments } = await api('/api/instruments');
  state.instruments = instruments;
  const select = $('instrument-select');
  select.replaceChildren(
    ...instruments.map((i) => {
      const option = el('option', `${i.instrumentId}${i.fills ? ` · ${i.fills} fills` : ''}`);
      option.value = i.instrumentId;
      return option;
    }),
  );
  const wanted = new URLSearchParams(location.search).get('instrument');
  state.instrument = instruments.some((i) => i.instrumentId === wanted)
    ? wanted
    : (instruments[0]?.instrumentId ?? null);
  if (state.instrument) select.value = state.instrument;
  fillIntervals();
}

function fillIntervals() {
  const entry = state.instruments.find((i) => i.instrumentId === state.instrument);
  const intervals = entry ? entry.intervals.map((i) => i.interval) : ['1m'];
  const seconds = (text) => {
    const m = /^(\d+)([smhd])$/.exec(text);
    return m ? Number(m[1]) * INTERVAL_SECONDS[m[2]] : 0;
  };
  intervals.sort((a, b) => seconds(a) - seconds(b));
  const select = $('interval-select');
  select.replaceChildren(...intervals.map((i) => el('option', i)));
  const wanted = new URLSearchParams(location.search).get('interval');
  state.interval = intervals.includes(wanted)
    ? wanted
    : intervals.includes(state.interval)
      ? state.interval
      : intervals.includes('1m')
        ? '1m'
        : intervals[0];
  select.value = state.interval;
}

// ---- live updates ----

let source = null;

function onEvent(type, handler) {
  source.addEventListener(type, (event) => {
    hooks.events[type] = (hooks.events[type] ?? 0) + 1;
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    handler(data);
  });
}

function connect() {
  if (source) source.close();
  const params = state.instrument
    ? `?${new URLSearchParams({ instrument: state.instrument, interval: state.interval })}`
    : '';
  source = new EventSource(`/api/stream${params}`);
  const status = $('stream-status');
  status.textContent = 'connecting';
  status.className = 'pill pill-off';
  source.onerror = () => {
    status.textContent = 'reconnecting';
    status.className = 'pill pill-off';
  };
  onEvent('ready', () => {
    status.textContent = 'live';
    status.className = 'pill pill-on';
    // Everything that landed before the stream's baseline is read now; what lands after is pushed.
    loadAll().catch(showLoadError);
  });
  onEvent('pipeline', renderPipeline);
  onEvent('bar', applyBar);
  onEvent('signal', (s) => {
    put(state.signals, s.id, s);
    renderSignals(new Set([s]));
    if (s.instrumentId === state.instrument) {
      state.chartSignals.push(s);
      drawMarkers();
    }
  });
  onEvent('decision', (d) => {
    put(state.decisions, d.decisionId, d);
    renderDecisions(new Set([d]));
  });
  onEvent('order', (o) => {
    const before = state.orders.get(o.orderId);
    if (!before || o.seq >= before.seq) put(state.orders, o.orderId, o);
    renderOrders(new Set([o]));
    if (o.instrumentId === state.instrument && o.status === 'ACCEPTED') {
      state.chartOrders.push(o);
      drawMarkers();
    }
  });
  onEvent('fill', (f) => {
    put(state.fills, f.fillId, f);
    renderFills(new Set([f]));
    if (f.instrumentId === state.instrument) {
      state.chartFills.push(f);
      drawMarkers();
    }
  });
  onEvent('position', (p) => {
    const key = `${p.account}|${p.instrumentId}`;
    const before = state.positions.get(key);
    if (!before || String(p.ts) >= String(before.ts)) state.positions.set(key, p);
    renderPositions(new Set([p]));
  });
  onEvent('pnl', (p) => {
    addPnl(p);
    renderPnl();
    renderTradingStates();
  });
  onEvent('audit', (a) => {
    put(state.audit, a.auditId, a);
    renderAudit(new Set([a]));
  });
  onEvent('quality', (q) => {
    put(state.quality, `${q.ts}|${q.instrumentId}|${q.rule}|${q.origin}`, q);
    renderQuality(new Set([q]));
  });
  onEvent('overflow', ({ event }) => {
    const loader = LOADERS[event];
    if (loader) loader().catch(showLoadError);
  });
}

function showLoadError(error) {
  const status = $('stream-status');
  status.textContent = error.status === 401 ? 'token needed' : `error: ${error.message}`;
  status.className = 'pill pill-bad';
}

let loading = null;
async function loadAll() {
  if (loading) return loading;
  loading = (async () => {
    await Promise.all([
      state.instrument ? loadChart() : Promise.resolve(),
      loadSignals(),
      loadRisk(),
      loadOrders(),
      loadFills(),
      loadPositions(),
      loadPnl(),
      loadQuality(),
      loadPipeline(),
    ]);
    hooks.ready = true;
  })().finally(() => (loading = null));
  return loading;
}

// ---- halt and resume ----

let pendingAction = 'HALT';

function openAction(action) {
  pendingAction = action;
  const halt = action === 'HALT';
  $('action-title').textContent = halt ? 'Halt trading' : 'Resume trading';
  $('action-confirm').textContent = halt ? 'Halt' : 'Resume';
  $('action-confirm').className = halt ? 'halt' : 'resume';
  $('flatten-label').hidden = !halt;
  $('action-flatten').checked = false;
  $('token-field').hidden = Boolean(token());
  $('action-result').textContent = '';
  $('action-result').className = 'result';
  $('action-dialog').showModal();
  $('action-reason').focus();
}

function scopeChanged() {
  const one = $('scope-one').checked;
  $('action-account').disabled = !one;
  if (one && !$('action-account').value && state.account) $('action-account').value = state.account;
}

async function submitAction(event) {
  event.preventDefault();
  const result = $('action-result');
  const reason = $('action-reason').value.trim();
  if (!reason) {
    result.textContent = 'A reason is required: every halt and resume is audited.';
    result.className = 'result error';
    return;
  }
  const typed = $('action-token').value.trim();
  if (typed) sessionStorage.setItem(TOKEN_KEY, typed);
  if (!token()) {
    $('token-field').hidden = false;
    result.textContent = 'Paste the console token (printed when the console started).';
    result.className = 'result error';
    return;
  }
  const body = { reason };
  if ($('scope-one').checked) body.account = $('action-account').value.trim();
  const instrument = $('action-instrument').value.trim();
  if (instrument) body.instrument = instrument;
  if (pendingAction === 'HALT' && $('action-flatten').checked) body.flatten = true;
  const operator = $('action-operator').value.trim();
  if (operator) body.operator = operator;
  const confirm = $('action-confirm');
  confirm.disabled = true;
  try {
    const { command } = await api(pendingAction === 'HALT' ? '/api/halt' : '/api/resume', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    result.textContent = `${command.action} ${command.commandId} sent for ${command.account ?? 'every account'} by ${command.actor}.`;
    result.className = 'result ok';
    result.dataset.commandId = command.commandId;
    $('action-reason').value = '';
    $('action-token').value = '';
  } catch (error) {
    if (error.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      $('token-field').hidden = false;
    }
    result.textContent = `Refused: ${error.message}${error.body?.fix ? ` (${error.body.fix})` : ''}`;
    result.className = 'result error';
  } finally {
    confirm.disabled = false;
  }
}

// ---- wiring ----

function wire() {
  $('halt-button').addEventListener('click', () => openAction('HALT'));
  $('resume-button').addEventListener('click', () => openAction('RESUME'));
  $('action-cancel').addEventListener('click', () => $('action-dialog').close());
  $('action-form').addEventListener('submit', submitAction);
  $('scope-all').addEventListener('change', scopeChanged);
  $('scope-one').addEventListener('change', scopeChanged);
  $('token-button').addEventListener('click', () => {
    $('token-input').value = '';
    $('token-dialog').showModal();
  });
  $('token-form').addEventListener('submit', () => {
    const value = $('token-input').value.trim();
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
  });
  $('token-clear').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    $('token-dialog').close();
  });
  $('instrument-select').addEventListener('change', (e) => {
    state.instrument = e.target.value;
    fillIntervals();
    connect();
  });
  $('interval-select').addEventListener('change', (e) => {
    state.interval = e.target.value;
    connect();
  });
  $('account-select').addEventListener('change', (e) => {
    state.account = e.target.value;
    renderPnl();
  });
}

async function main() {
  wire();
  try {
    await loadInstruments();
  } catch (error) {
    showLoadError(error);
  }
  connect();
}

main();
