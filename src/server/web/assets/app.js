/* global window, document, CSS, EventSource, fetch, navigator, performance, URL, URLSearchParams, DOMParser, setTimeout, setInterval, requestAnimationFrame, devicePixelRatio, ResizeObserver, CustomEvent, history, location */
// quarters web UI: progressive enhancement of server-rendered pages. Without this script every page
// works (forms are GET, links are links); with it: live build states over Server-Sent Events, copy
// buttons, ticking elapsed times, the graph overview on a canvas and neighbourhoods without reloads.
'use strict';

const GROUP = { built: 'built', dispatched: 'building', building: 'building', blocked: 'waiting', ready: 'waiting', failed: 'failed', 'dependency-failed': 'failed', cancelled: 'cancelled', superseded: 'cancelled' };
const GROUPS = ['built', 'building', 'waiting', 'failed', 'cancelled'];
const COLOUR = { built: '#1f7a35', dispatched: '#1a5fb4', building: '#1a5fb4', blocked: '#9aa1aa', ready: '#7d848d', failed: '#b3261e', 'dependency-failed': '#d66a62', cancelled: '#a66a00', superseded: '#c79a4a' };

function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

function tickElapsed() {
  for (const el of document.querySelectorAll('[data-elapsed-since]')) {
    const since = Date.parse(el.getAttribute('data-elapsed-since'));
    if (!Number.isNaN(since)) el.textContent = duration((Date.now() - since) / 1000);
  }
}

function setupCopy() {
  for (const button of document.querySelectorAll('button[data-copy]')) {
    button.hidden = false;
    button.addEventListener('click', async () => {
      const text = document.getElementById(button.getAttribute('data-copy')).textContent;
      try {
        await navigator.clipboard.writeText(text);
      } catch {
        const range = document.createRange();
        range.selectNodeContents(document.getElementById(button.getAttribute('data-copy')));
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        document.execCommand('copy');
      }
      button.textContent = 'Copied';
      setTimeout(() => (button.textContent = 'Copy'), 2000);
    });
  }
}

/** Moves a count from one group to another under `key` (namespace/arch) and redraws its bar. */
function moveCount(key, from, to) {
  if (from === to) return;
  const counter = (group) => document.querySelector(`[data-count="${CSS.escape(key)}:${group}"]`);
  for (const [group, delta] of [[from, -1], [to, 1]]) {
    const el = counter(group);
    if (el) el.textContent = String(Math.max(0, Number(el.textContent) + delta));
  }
  const total = Number(counter('total')?.textContent ?? 0) || 1;
  let x = 0;
  for (const group of GROUPS) {
    const rect = document.querySelector(`[data-bar="${CSS.escape(key)}:${group}"]`);
    const width = (Number(counter(group)?.textContent ?? 0) / total) * 100;
    if (rect) {
      rect.setAttribute('x', x.toFixed(3));
      rect.setAttribute('width', width.toFixed(3));
    }
    x += width;
  }
}

/** Applies a build's new state to every element that shows it. */
function patchBuild(data) {
  const elements = document.querySelectorAll(`[data-build="${data.id}"]`);
  let previous = null;
  for (const el of elements) {
    previous ??= el.getAttribute('data-state');
    el.setAttribute('data-state', data.state);
    for (const label of el.querySelectorAll('[data-state-label]')) {
      label.textContent = data.state;
      label.className = `state s-${data.state}`;
    }
    const rect = el.querySelector('rect.node');
    if (rect) rect.setAttribute('class', rect.getAttribute('class').replace(/s-[a-z-]+/, `s-${data.state}`));
  }
  if (previous && previous !== data.state) moveCount(`${data.namespace}/${data.arch}`, GROUP[previous], GROUP[data.state]);
  graph?.setState(data.id, data.state);
}

let refreshTimer = null;
/** Fetches the page again and swaps its main content (pages whose rows come and go: home, builders). */
function refreshSoon() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(async () => {
    refreshTimer = null;
    const res = await fetch(location.href, { headers: { Accept: 'text/html' } });
    if (!res.ok) return;
    const next = new DOMParser().parseFromString(await res.text(), 'text/html').getElementById('main');
    const main = document.getElementById('main');
    if (next && main) {
      const status = main.querySelector('.live-status');
      main.innerHTML = next.innerHTML;
      const fresh = main.querySelector('.live-status');
      if (fresh && status) fresh.replaceWith(status);
      tickElapsed();
    }
  }, 800);
}

function setupLive() {
  const body = document.body;
  const mode = body.getAttribute('data-live');
  if (!mode || typeof EventSource === 'undefined') return;
  const namespace = body.getAttribute('data-live-namespace');
  const status = document.querySelector('.live-status');
  const live = (window.quartersLive = { events: 0, connected: false, last: null });
  const source = new EventSource(`/api/v1/events${namespace ? `?namespace=${encodeURIComponent(namespace)}` : ''}`);
  source.addEventListener('hello', () => {
    live.connected = true;
    if (status) {
      status.hidden = false;
      status.textContent = 'live';
      status.classList.remove('off');
    }
  });
  source.addEventListener('error', () => {
    live.connected = false;
    if (status) {
      status.textContent = 'reconnecting…';
      status.classList.add('off');
    }
  });
  source.addEventListener('build', (event) => {
    const data = JSON.parse(event.data);
    live.events += 1;
    live.last = data;
    if (mode === 'refresh') refreshSoon();
    else patchBuild(data);
  });
  source.addEventListener('iteration', (event) => {
    const data = JSON.parse(event.data);
    if (mode === 'refresh') return refreshSoon();
    if (document.querySelector('.notice.new-iteration')) return;
    const notice = document.createElement('p');
    notice.className = 'notice new-iteration';
    notice.setAttribute('role', 'status');
    const link = document.createElement('a');
    link.href = location.href;
    link.textContent = `Iteration ${data.iteration} was planned: reload to see it.`;
    notice.append(link);
    document.getElementById('main').prepend(notice);
  });
}

// ---- the graph ----

let graph = null;

/** Loads a neighbourhood fragment in place of #neighbourhood; resolves when it is in the page. */
async function showNeighbourhood(canvas, params) {
  const started = performance.now();
  const url = `${canvas.getAttribute('data-hood')}?${params.toString()}`;
  const res = await fetch(url, { headers: { Accept: 'text/html' } });
  const html = await res.text();
  const target = document.getElementById('neighbourhood');
  const holder = document.createElement('div');
  holder.innerHTML = html;
  const fresh = holder.querySelector('#neighbourhood');
  if (target && fresh) target.replaceWith(fresh);
  const page = new URL(location.href);
  for (const [k, v] of params) page.searchParams.set(k, v);
  history.replaceState(null, '', page);
  const focus = params.get('focus');
  const input = document.getElementById('focus-input');
  if (input && focus) input.value = focus;
  graph?.focus(focus);
  window.quartersGraph.lastNeighbourhoodMs = performance.now() - started;
  document.dispatchEvent(new CustomEvent('quarters:neighbourhood', { detail: { focus, ms: window.quartersGraph.lastNeighbourhoodMs } }));
}

function setupGraph() {
  const canvas = document.getElementById('overview');
  if (!canvas) return;
  window.quartersGraph = { ready: false };
  const form = document.getElementById('hood-form');
  const params = () => {
    const data = new URLSearchParams(new window.FormData(form));
    return data;
  };
  form?.addEventListener('submit', (event) => {
    event.preventDefault();
    void showNeighbourhood(canvas, params());
  });
  document.addEventListener('click', (event) => {
    const link = event.target.closest?.('#neighbourhood a[data-focus], .critical a[data-focus], .wave-list a[data-focus]');
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    const p = params();
    p.set('focus', link.getAttribute('data-focus'));
    void showNeighbourhood(canvas, p);
  });
  void drawOverview(canvas, (name) => {
    const p = params();
    p.set('focus', name);
    void showNeighbourhood(canvas, p);
  });
}

async function drawOverview(canvas, onPick) {
  const started = performance.now();
  const data = await (await fetch(canvas.getAttribute('data-src'))).json();
  const n = data.ids.length;
  const COL = 150;
  const ROW = 16;
  const W = 132;
  const H = 12;
  const indexOf = new Map(data.ids.map((id, i) => [id, i]));
  const byName = new Map(data.names.map((name, i) => [name, i]));
  const critical = new Set(data.critical);
  const states = data.state.map((s) => data.states[s]);
  const rows = Math.max(1, ...data.waveSizes);
  const width = data.waveSizes.length * COL;
  const height = rows * ROW;
  // Edges grouped by their dependency, for the highlight of a focused build.
  let focused = -1;
  const near = new Set();
  const ctx = canvas.getContext('2d');
  const view = { scale: 1, x: 0, y: 0 };
  let cssW = 0;
  let cssH = 0;
  const resize = () => {
    const rect = canvas.getBoundingClientRect();
    cssW = rect.width;
    cssH = rect.height;
    canvas.width = Math.round(cssW * (devicePixelRatio || 1));
    canvas.height = Math.round(cssH * (devicePixelRatio || 1));
  };
  const fit = () => {
    view.scale = Math.min(cssW / (width + 20), cssH / (height + 20), 1.5);
    // Tall waves: fit the width, and start at the top, so builds stay readable enough to click.
    if (view.scale < 0.2) view.scale = Math.max(Math.min(cssW / (width + 20), 1), 0.05);
    view.x = 10 * view.scale;
    view.y = 10 * view.scale;
  };
  let pending = false;
  const draw = () => {
    pending = false;
    const dpr = devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    ctx.setTransform(dpr * view.scale, 0, 0, dpr * view.scale, dpr * view.x, dpr * view.y);
    const left = -view.x / view.scale;
    const top = -view.y / view.scale;
    const right = left + cssW / view.scale;
    const bottom = top + cssH / view.scale;
    const px = (i) => data.wave[i] * COL;
    const py = (i) => data.row[i] * ROW;
    // Edges: from a build's left side to its dependency's right side; faint unless near the focus.
    ctx.lineWidth = 1 / view.scale;
    ctx.strokeStyle = focused >= 0 ? 'rgba(120,130,140,0.08)' : 'rgba(120,130,140,0.25)';
    ctx.beginPath();
    const e = data.edges;
    for (let k = 0; k < e.length; k += 2) {
      const a = e[k];
      const b = e[k + 1];
      const ay = py(a) + H / 2;
      const by = py(b) + H / 2;
      if ((ay < top && by < top) || (ay > bottom && by > bottom)) continue;
      ctx.moveTo(px(a), ay);
      ctx.lineTo(px(b) + W, by);
    }
    ctx.stroke();
    if (focused >= 0) {
      ctx.strokeStyle = '#222';
      ctx.lineWidth = 1.5 / view.scale;
      ctx.beginPath();
      for (let k = 0; k < e.length; k += 2) {
        if (e[k] !== focused && e[k + 1] !== focused) continue;
        ctx.moveTo(px(e[k]), py(e[k]) + H / 2);
        ctx.lineTo(px(e[k + 1]) + W, py(e[k + 1]) + H / 2);
      }
      ctx.stroke();
    }
    const labels = view.scale * ROW >= 10;
    ctx.font = '10px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    for (let i = 0; i < n; i++) {
      const x = px(i);
      const y = py(i);
      if (x > right || x + W < left || y > bottom || y + H < top) continue;
      ctx.fillStyle = COLOUR[states[i]] ?? '#888';
      ctx.fillRect(x, y, W, H);
      if (critical.has(i) || i === focused) {
        ctx.strokeStyle = i === focused ? '#ffbf47' : '#000';
        ctx.lineWidth = (i === focused ? 4 : 2) / view.scale;
        ctx.strokeRect(x, y, W, H);
      }
      if (labels) {
        ctx.fillStyle = '#fff';
        ctx.fillText(data.names[i].length > 22 ? `${data.names[i].slice(0, 21)}…` : data.names[i], x + 3, y + H / 2, W - 6);
      }
    }
  };
  const redraw = () => {
    if (!pending) {
      pending = true;
      requestAnimationFrame(draw);
    }
  };
  const pick = (clientX, clientY) => {
    const rect = canvas.getBoundingClientRect();
    const gx = (clientX - rect.left - view.x) / view.scale;
    const gy = (clientY - rect.top - view.y) / view.scale;
    const wave = Math.floor(gx / COL);
    const row = Math.floor(gy / ROW);
    if (gx - wave * COL > W || gy - row * ROW > H) return -1;
    for (let i = 0; i < n; i++) if (data.wave[i] === wave && data.row[i] === row) return i;
    return -1;
  };
  resize();
  fit();
  draw();
  graph = {
    setState(id, state) {
      const i = indexOf.get(id);
      if (i === undefined) return;
      states[i] = state;
      redraw();
    },
    focus(name) {
      const i = byName.get(name);
      focused = i ?? -1;
      near.clear();
      if (i !== undefined) {
        // Bring it into view.
        const x = data.wave[i] * COL * view.scale + view.x;
        const y = data.row[i] * ROW * view.scale + view.y;
        if (x < 0 || x > cssW || y < 0 || y > cssH) {
          view.x = cssW / 2 - data.wave[i] * COL * view.scale;
          view.y = cssH / 2 - data.row[i] * ROW * view.scale;
        }
      }
      redraw();
    },
  };
  window.quartersGraph = { ready: true, nodes: n, edges: data.edges.length / 2, readyMs: performance.now() - started, readyAt: 0, drawMs: 0, lastNeighbourhoodMs: null };
  const t = performance.now();
  draw();
  window.quartersGraph.drawMs = performance.now() - t;
  window.quartersGraph.readyAt = performance.now();
  canvas.setAttribute('data-ready', '1');
  const initialFocus = document.getElementById('neighbourhood')?.getAttribute('data-focus');
  if (initialFocus) graph.focus(initialFocus);

  // Pan, zoom, pick.
  let drag = null;
  canvas.addEventListener('pointerdown', (event) => {
    drag = { x: event.clientX, y: event.clientY, vx: view.x, vy: view.y, moved: false };
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener('pointermove', (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    view.x = drag.vx + dx;
    view.y = drag.vy + dy;
    redraw();
  });
  canvas.addEventListener('pointerup', (event) => {
    const wasDrag = drag?.moved;
    drag = null;
    if (wasDrag) return;
    const i = pick(event.clientX, event.clientY);
    if (i >= 0) onPick(data.names[i].replace(/ \(pass \d+\)$/, ''));
  });
  const zoom = (factor, cx, cy) => {
    const scale = Math.min(4, Math.max(0.01, view.scale * factor));
    view.x = cx - ((cx - view.x) * scale) / view.scale;
    view.y = cy - ((cy - view.y) * scale) / view.scale;
    view.scale = scale;
    redraw();
  };
  canvas.addEventListener('wheel', (event) => {
    event.preventDefault();
    const rect = canvas.getBoundingClientRect();
    zoom(event.deltaY < 0 ? 1.2 : 1 / 1.2, event.clientX - rect.left, event.clientY - rect.top);
  }, { passive: false });
  canvas.addEventListener('keydown', (event) => {
    const step = 60;
    const keys = { ArrowLeft: () => (view.x += step), ArrowRight: () => (view.x -= step), ArrowUp: () => (view.y += step), ArrowDown: () => (view.y -= step), '+': () => zoom(1.25, cssW / 2, cssH / 2), '=': () => zoom(1.25, cssW / 2, cssH / 2), '-': () => zoom(0.8, cssW / 2, cssH / 2), 0: () => fit() };
    const act = keys[event.key];
    if (!act) return;
    event.preventDefault();
    act();
    redraw();
  });
  if (typeof ResizeObserver !== 'undefined') new ResizeObserver(() => { resize(); redraw(); }).observe(canvas);
}

function start() {
  tickElapsed();
  setInterval(tickElapsed, 1000);
  setupCopy();
  setupLive();
  setupGraph();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
