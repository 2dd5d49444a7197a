// The shadowscale dashboard: reads the API of the `run` that serves it, polls every 2 s, draws with
// uPlot. A token (when the API has tokens) is given once as #token=... and kept for the tab.
'use strict';

(function () {
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get('token')) {
    sessionStorage.setItem('shadowscale-token', hash.get('token'));
    history.replaceState(null, '', location.pathname + location.search);
  }
  const token = sessionStorage.getItem('shadowscale-token');
  // ?window=SECONDS and ?service=NAME preselect the view (links, screenshots).
  const params = new URLSearchParams(location.search);
  const $ = (id) => document.getElementById(id);
  const state = { service: null, view: null, charts: {}, busy: false, decisions: [], events: [] };

  async function api(path, init) {
    const headers = Object.assign({ accept: 'application/json' }, init && init.body ? { 'content-type': 'application/json' } : {}, token ? { authorization: 'Bearer ' + token } : {});
    const res = await fetch(path, Object.assign({}, init, { headers }));
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error((body.error && body.error.code ? body.error.code + ': ' + body.error.message : 'HTTP ' + res.status));
    return body;
  }
  const fmt = (x, d) => (x === null || x === undefined || !isFinite(x) ? '–' : Number(x).toFixed(d === undefined ? 0 : d));
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
  const time = (iso) => new Date(iso).toLocaleTimeString();

  function width(el) {
    return Math.max(280, el.parentElement.clientWidth);
  }
  function height() {
    return window.innerWidth < 600 ? 180 : 240;
  }

  // Decisions as marks along the top of the instances chart: acted (dark), would have (orange), operator (blue).
  function decisionMarks(u) {
    const ctx = u.ctx;
    ctx.save();
    for (const d of state.decisions) {
      const x = u.valToPos(Date.parse(d.at) / 1000, 'x', true);
      if (!(x >= u.bbox.left && x <= u.bbox.left + u.bbox.width)) continue;
      const changed = (d.wouldHave ? d.wouldHave.target : d.target) !== d.current;
      if (!changed && !d.operator) continue;
      ctx.fillStyle = d.operator ? '#3056d3' : d.wouldHave ? '#b54708' : '#1d2330';
      ctx.beginPath();
      ctx.moveTo(x - 5, u.bbox.top);
      ctx.lineTo(x + 5, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + 8);
      ctx.fill();
    }
    ctx.restore();
  }

  // An event's multiplier: declared, or learned from its last occurrence (yearly events without one).
  const size = (e) => (e.multiplier !== null ? String(e.multiplier) : e.learned ? e.learned.multiplier.toFixed(2) + ' (learned)' : '?');

  // Known events the forecasts use, as bands over the demand chart: their occurrences in the window and ahead.
  function eventBands(u) {
    const ctx = u.ctx;
    const dpr = window.devicePixelRatio;
    ctx.save();
    ctx.font = 12 * dpr + 'px sans-serif';
    // uPlot leaves the axes' alignment on the context: the labels start at their band's left edge.
    ctx.textAlign = 'left';
    ctx.textBaseline = 'alphabetic';
    // Each label goes on the first row where it overlaps no label already drawn (overlapping events).
    const rows = [];
    for (const e of state.events) {
      if (!e.used) continue;
      for (const o of e.occurrences || (e.next ? [e.next] : [])) {
        const left = Math.max(u.bbox.left, u.valToPos(Date.parse(o.start) / 1000, 'x', true));
        const right = Math.min(u.bbox.left + u.bbox.width, u.valToPos(Date.parse(o.end) / 1000, 'x', true));
        if (!(right > left)) continue;
        ctx.fillStyle = 'rgba(181,71,8,0.12)';
        ctx.fillRect(left, u.bbox.top, right - left, u.bbox.height);
        ctx.fillStyle = '#b54708';
        const label = e.name + ' ×' + size(e);
        const from = left + 4;
        const to = from + ctx.measureText(label).width + 8 * dpr;
        let row = rows.findIndex((spans) => spans.every(([a, b]) => to <= a || from >= b));
        if (row < 0) row = rows.push([]) - 1;
        rows[row].push([from, to]);
        ctx.fillText(label, from, u.bbox.top + 14 * dpr * (row + 1));
      }
    }
    ctx.restore();
  }

  const small = (u, vals) => vals.map((v) => (v === null || v === undefined ? '' : v === 0 ? '0' : Math.abs(v) < 0.01 ? v.toExponential(1) : v.toFixed(Math.abs(v) < 10 ? 2 : 0)));

  function chart(id, series, bands, draw, axis) {
    const el = $(id);
    if (state.charts[id]) return state.charts[id];
    const opts = {
      width: width(el),
      height: height(),
      scales: { x: { time: true } },
      series: [{}].concat(series),
      axes: [{}, Object.assign({ size: 56 }, axis || {})],
      legend: { live: true },
    };
    if (bands) opts.bands = bands;
    if (draw) opts.hooks = { draw: [draw] };
    const u = new uPlot(opts, [[]].concat(series.map(() => [])), el);
    state.charts[id] = u;
    return u;
  }

  function drawCharts(tl) {
    // Demand against the forecast and its interval; the forecast ahead continues the lines.
    const aheadT = tl.ahead.t.filter((x) => x > (tl.t[tl.t.length - 1] || 0));
    const n = aheadT.length;
    const skip = tl.ahead.t.length - n;
    const t = tl.t.concat(aheadT);
    const pad = (xs) => xs.concat(new Array(n).fill(null));
    const ahead = (xs) => new Array(tl.t.length).fill(null).concat(xs.slice(skip));
    const demand = chart('chart-demand', [
      { label: 'demand', stroke: '#1d2330', width: 1.5 },
      { label: 'forecast', stroke: '#3056d3', dash: [4, 3] },
      { label: 'upper', stroke: 'rgba(48,86,211,0.35)' },
      { label: 'lower', stroke: 'rgba(48,86,211,0.35)' },
      { label: 'forecast ahead', stroke: '#7a5af8', dash: [2, 2] },
    ], [{ series: [3, 4], fill: 'rgba(48,86,211,0.10)' }], eventBands);
    demand.setData([t, pad(tl.demand), pad(tl.forecastMean), pad(tl.forecastUpper), pad(tl.forecastLower), ahead(tl.ahead.mean)]);
    const inst = chart('chart-instances', [
      { label: 'live requested', stroke: '#1d2330', width: 1.5, paths: uPlot.paths.stepped({ align: 1 }) },
      { label: 'live ready', stroke: '#067647', paths: uPlot.paths.stepped({ align: 1 }) },
      { label: 'decided (or would have)', stroke: '#b54708', dash: [4, 3], paths: uPlot.paths.stepped({ align: 1 }) },
      { label: 'shadow', stroke: '#7a5af8', paths: uPlot.paths.stepped({ align: 1 }) },
    ], null, decisionMarks);
    inst.setData([tl.t, tl.liveInstances, tl.liveReady, tl.desired, tl.shadowInstances]);
    const lat = chart('chart-latency', [
      { label: 'live p99', stroke: '#1d2330' },
      { label: 'shadow p99', stroke: '#7a5af8' },
      { label: 'SLO', stroke: '#b42318', dash: [6, 4] },
    ]);
    const slo = state.view ? state.view.slo.latencyP99Ms : null;
    lat.setData([tl.t, tl.liveP99Ms, tl.shadowP99Ms, tl.t.map(() => slo)]);
    const cost = chart('chart-cost', [
      { label: 'live', stroke: '#1d2330', width: 1.5 },
      { label: 'shadow', stroke: '#7a5af8' },
      { label: 'oracle', stroke: '#067647', dash: [4, 3] },
    ], null, null, { values: small });
    cost.setData([tl.t, tl.costLive, tl.costShadow, tl.costOracle]);
  }

  function drawSummary(v) {
    const st = $('state');
    const label = v.paused ? 'paused' : v.mode;
    st.textContent = v.paused ? 'paused: not acting' : v.mode === 'forecast-only' ? 'forecast only: not acting' : 'acting';
    st.className = 'badge ' + label;
    $('pause').textContent = v.paused ? 'Resume' : 'Pause';
    $('mode').textContent = v.mode === 'forecast-only' ? 'Act' : 'Forecast only';
    const t = v.lastTick || {};
    const cards = [
      ['target', v.target + ' × ' + v.instanceType],
      ['live ready (warming, starting)', v.live.ready + ' (' + v.live.warming + ', ' + v.live.starting + ')'],
      ['shadow', v.shadow.ready + ' of ' + v.shadow.requested],
      ['demand', fmt(t.liveRps, 1) + ' req/s'],
      ['forecast [interval]', t.forecast ? fmt(t.forecast.mean, 0) + ' [' + fmt(t.forecast.lower, 0) + ', ' + fmt(t.forecast.upper, 0) + ']' : '–'],
      ['live p99 (SLO ' + v.slo.latencyP99Ms + ' ms)', fmt(t.liveP99Ms, 1) + ' ms'],
      [v.boundsOverride ? 'bounds until ' + time(v.boundsOverride.until) : 'bounds', v.bounds.min + '–' + v.bounds.max],
      ['trials running', String(v.trials.running)],
    ];
    const coming = state.events.filter((e) => e.used && e.next).sort((a, b) => Date.parse(a.next.start) - Date.parse(b.next.start))[0];
    // The time in the label (labels wrap; values are cut to the card's width).
    const when = (iso) => (Math.abs(Date.parse(iso) - Date.now()) < 86_400_000 ? time(iso) : new Date(iso).toLocaleDateString());
    if (coming) cards.push([Date.parse(coming.next.start) <= Date.now() ? 'known event until ' + when(coming.next.end) : 'next known event at ' + when(coming.next.start), coming.name + ' ×' + size(coming)]);
    // A value cut to its card's width is whole in its tooltip.
    $('summary').innerHTML = cards.map((c) => '<div class="card"><span>' + esc(c[0]) + '</span><b title="' + esc(c[1]) + '">' + esc(c[1]) + '</b></div>').join('');
  }

  function drawDecisions(ds) {
    const rows = ds.map((d) => {
      const to = d.wouldHave ? d.wouldHave.target : d.target;
      const cls = d.operator ? 'operator' : d.wouldHave ? 'would' : '';
      const note = d.operator ? 'by ' + d.operator.by + (d.operator.note ? ': ' + d.operator.note : '') : d.wouldHave ? 'would have (' + d.wouldHave.why + ')' : d.proof ? 'proof ' + d.proof.status : '';
      const numbers = Object.entries(d.numbers).map(([k, x]) => k + ' = ' + (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3))).join('\n');
      return '<tr class="' + cls + '" data-seq="' + d.seq + '" title="' + esc(numbers) + '"><td>' + esc(time(d.at)) + '</td><td>' + esc(d.boundReason || d.reason) + '</td><td class="num">' + d.current + ' → ' + to + '</td><td>' + esc(note) + '</td></tr>';
    });
    $('decisions').querySelector('tbody').innerHTML = rows.join('');
  }

  function drawCost(c) {
    const row = (name, x) => '<tr><td>' + esc(name) + '</td><td class="num">' + fmt(x.instanceSeconds / 3600, 2) + ' instance-h</td><td class="num">' + fmt(x.cost, 4) + '</td></tr>';
    $('cost').innerHTML = '<tr><th></th><th>time</th><th>cost</th></tr>' + row('live', c.live) + row('shadow', c.shadow) + row('trials', c.trials) + row('decided or would have', c.wouldHave) + row('oracle (perfect foresight)', c.oracle) + '<tr><td>live / oracle</td><td class="num" colspan="2">' + fmt(c.liveToOracle, 3) + '</td></tr>';
  }

  function drawDelta(d) {
    $('delta').querySelector('tbody').innerHTML = d.deltas
      .slice(-10)
      .reverse()
      .map((x) => '<tr><td>' + esc(time(x.at)) + '</td><td class="verdict-' + esc(x.verdict) + '">' + esc(x.verdict) + (x.metric ? ' (' + esc(x.metric) + ')' : '') + '</td><td>' + esc(Object.entries(x.numbers).slice(0, 6).map(([k, v]) => k + ' ' + (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3))).join(', ')) + '</td></tr>')
      .join('');
  }

  function drawProofs(e) {
    const types = Object.entries(e.proofs.types).map(([t, x]) => '<li>' + esc(t) + ': proven up to ' + fmt(x.provenRps, 1) + ' req/s per instance' + (x.capacityAtSloRps !== null ? ', capacity at the SLO ' + fmt(x.capacityAtSloRps, 1) : '') + (x.ageSeconds !== null ? ', ' + fmt(x.ageSeconds) + ' s ago' : ', no fresh trial') + '</li>');
    const exps = e.experiments.slice(-8).reverse().map((x) => '<li>' + esc(x.kind) + ' ' + esc(x.id) + ': <span class="verdict-' + esc(x.verdict || 'open') + '">' + esc(x.verdict || 'running') + '</span></li>');
    const arms = e.abArms ? Object.entries(e.abArms).map(([n, a]) => '<li>A/B arm ' + esc(n) + ': ' + a.sloViolationSeconds + ' violation s, p99 ' + fmt(a.p99Ms, 1) + ' ms, ' + a.instanceSeconds + ' instance-s</li>') : [];
    $('proofs').innerHTML = '<p>' + e.proofs.trials.finished + ' finished trial(s), ' + e.proofs.trials.open + ' open, ' + e.proofs.trials.instanceSeconds + ' trial instance-s</p><ul>' + types.concat(arms, exps).join('') + '</ul>';
  }

  async function refresh(full) {
    if (state.busy || !state.service) return;
    state.busy = true;
    try {
      const s = encodeURIComponent(state.service);
      const win = Number($('window').value);
      const since = Date.now() - win * 1000;
      // The window and a day ahead (the forecast ahead is shorter; the API takes at most 31 days).
      if (full) state.events = (await api('api/v1/services/' + s + '/events?since=' + Math.round(since) + '&until=' + Math.round(Date.now() + 86_400_000))).events;
      const [view, ds, tl] = await Promise.all([api('api/v1/services/' + s), api('api/v1/services/' + s + '/decisions?limit=50'), api('api/v1/services/' + s + '/timeline?since=' + since)]);
      state.view = view;
      drawSummary(view);
      state.decisions = ds.decisions;
      drawDecisions(ds.decisions);
      drawCharts(tl);
      if (full) {
        const [cost, delta, exps] = await Promise.all([api('api/v1/services/' + s + '/cost?since=' + since), api('api/v1/services/' + s + '/delta'), api('api/v1/services/' + s + '/experiments?limit=20')]);
        drawCost(cost);
        drawDelta(delta);
        drawProofs(exps);
      }
      $('error').textContent = '';
      document.body.dataset.updated = String(Date.now());
    } catch (err) {
      $('error').textContent = err.message;
    } finally {
      state.busy = false;
    }
  }

  async function act(path, body) {
    try {
      await api('api/v1/services/' + encodeURIComponent(state.service) + path, { method: body && body.mode ? 'PUT' : 'POST', body: JSON.stringify(body || {}) });
      await refresh(true);
    } catch (err) {
      $('error').textContent = err.message;
    }
  }

  $('pause').addEventListener('click', () => act(state.view && state.view.paused ? '/resume' : '/pause', { note: 'from the dashboard' }));
  $('mode').addEventListener('click', () => act('/mode', { mode: state.view && state.view.mode === 'forecast-only' ? 'act' : 'forecast-only', note: 'from the dashboard' }));
  $('window').addEventListener('change', () => refresh(true));
  $('service').addEventListener('change', () => {
    state.service = $('service').value;
    refresh(true);
  });
  window.addEventListener('resize', () => {
    for (const [id, u] of Object.entries(state.charts)) u.setSize({ width: width($(id)), height: height() });
  });

  (async function start() {
    try {
      const list = await api('api/v1/services');
      $('service').innerHTML = list.services.map((s) => '<option>' + esc(s.name) + '</option>').join('');
      state.service = list.services[0] ? list.services[0].name : null;
      if (params.get('service') && list.services.some((s) => s.name === params.get('service'))) state.service = $('service').value = params.get('service');
      if (params.get('window') && [...$('window').options].some((o) => o.value === params.get('window'))) $('window').value = params.get('window');
    } catch (err) {
      $('error').textContent = err.message + (token ? '' : ' (open the page with #token=YOUR_TOKEN)');
      return;
    }
    await refresh(true);
    let n = 0;
    setInterval(() => refresh(++n % 5 === 0), 2000);
  })();
})();
