// The browser side of the status page and of the chat page, served as two small scripts (the
// Content-Security-Policy allows no inline script). Plain DOM code; every value goes in as text.

export const STATUS_JS = `'use strict';
const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...kids) => { const e = document.createElement(tag); Object.assign(e, props); e.append(...kids); return e; };
const SVG = 'http://www.w3.org/2000/svg';
let share = '';

function torText(t) {
  if (t.state === 'off') return t.notice || 'Not used: peers reach you directly.';
  if (t.state === 'ready') return 'Ready' + (t.onion ? ': ' + t.onion : '') + (t.published ? ' (published)' : '');
  return t.state.charAt(0).toUpperCase() + t.state.slice(1) + (t.bootstrap ? ' ' + t.bootstrap.progress + '%' : '');
}

function spark(samples) {
  const svg = $('spark');
  svg.replaceChildren();
  const w = 300, h = 60, n = 60;
  const max = Math.max(1, ...samples.map((s) => Math.max(s.in, s.out)));
  for (const [key, color] of [['in', '#2459c7'], ['out', '#b54708']]) {
    const pts = samples.map((s, i) => ((w * (n - samples.length + i)) / (n - 1)).toFixed(1) + ',' + (h - 4 - ((h - 8) * s[key]) / max).toFixed(1));
    if (pts.length === 1) pts.unshift('0,' + pts[0].split(',')[1]);
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('points', pts.join(' '));
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', color);
    line.setAttribute('stroke-width', '2');
    svg.append(line);
  }
  if (samples.length === 0) {
    const t = document.createElementNS(SVG, 'text');
    t.setAttribute('x', '150'); t.setAttribute('y', '35'); t.setAttribute('text-anchor', 'middle'); t.setAttribute('fill', '#667085'); t.setAttribute('font-size', '12');
    t.textContent = 'no messages yet';
    svg.append(t);
  }
}

async function answer(id, verb, row) {
  for (const b of row.querySelectorAll('button')) b.disabled = true;
  const res = await fetch('/api/requests/' + encodeURIComponent(id) + '/' + verb, { method: 'POST' });
  const body = await res.json().catch(() => ({ text: res.statusText }));
  row.querySelector('.who').append(el('div', { className: body.ok ? 'muted' : 'error', textContent: body.text }));
}

function render(s) {
  $('fingerprint').textContent = s.fingerprint || '(none yet)';
  $('jid').textContent = s.jid;
  if (s.share !== share) { share = s.share || ''; $('share').textContent = share || '(no share string yet)'; $('qr').src = '/qr.svg?v=' + encodeURIComponent(share); }
  $('tor-state').textContent = torText(s.tor);
  const bar = $('tor-bar');
  const pct = s.tor.state === 'ready' ? 100 : s.tor.bootstrap ? s.tor.bootstrap.progress : 0;
  bar.style.width = pct + '%';
  bar.className = s.tor.state === 'ready' ? 'ready' : '';
  $('tor-detail').textContent = s.tor.bootstrap && s.tor.state !== 'ready' ? s.tor.bootstrap.summary || '' : '';
  $('queued').textContent = String(s.queued);
  $('online').textContent = String(s.online);
  spark(s.rates.samples);
  const waiting = s.contacts.filter((c) => c.state === 'requested');
  $('requests').replaceChildren(...(waiting.length ? waiting.map((c) => {
    const row = el('div', { className: 'request' });
    row.dataset.id = c.id;
    row.append(el('div', { className: 'who' }, el('strong', { textContent: c.name }), ' ', el('code', { textContent: c.id })),
      el('button', { className: 'primary', textContent: 'Accept', onclick: () => answer(c.id, 'accept', row) }),
      el('button', { className: 'danger', textContent: 'Deny', onclick: () => answer(c.id, 'deny', row) }));
    return row;
  }) : [el('p', { className: 'muted', textContent: 'None.' })]));
  const shown = s.contacts.filter((c) => c.state !== 'requested');
  $('contacts').replaceChildren(...(shown.length ? shown.map((c) => {
    const tr = el('tr');
    tr.dataset.id = c.id;
    const link = c.state === 'blocked' ? 'blocked' : c.online ? 'linked' : 'offline';
    tr.append(el('td', { textContent: c.name }), el('td', {}, el('span', { className: 'dot' + (c.online ? ' on' : '') }), link),
      el('td', {}, el('code', { textContent: c.address || '-' })), el('td', {}, el('code', { textContent: c.id.slice(0, 16) + '…' })));
    return tr;
  }) : [el('tr', {}, el('td', { colSpan: 4, className: 'muted', textContent: 'No contacts yet: give a friend your share string.' }))]));
  const log = $('log');
  const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  log.textContent = s.log.map((l) => new Date(l.time).toLocaleTimeString() + ' ' + l.level.padEnd(5) + ' ' + (l.component ? '[' + l.component + '] ' : '') + l.msg).join('\\n');
  if (atEnd) log.scrollTop = log.scrollHeight;
}

// Add a friend: the share string typed or pasted, or read by jsQR from the camera (frames drawn on
// a canvas, decoded here in the page; nothing leaves the machine but the string itself).
async function addFriend(ev) {
  ev.preventDefault();
  const result = $('add-result');
  const res = await fetch('/api/contacts', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ peer: $('add-peer').value.trim(), name: $('add-name').value.trim() || undefined }) });
  const body = await res.json().catch(() => ({ ok: false, text: res.statusText }));
  result.className = body.ok ? 'muted' : 'error';
  result.textContent = body.text;
  if (body.ok) { $('add-peer').value = ''; $('add-name').value = ''; }
}

let scanning;
function stopScan(text, bad) {
  if (scanning) { clearInterval(scanning.timer); for (const t of scanning.stream.getTracks()) t.stop(); scanning = undefined; }
  $('scan-video').hidden = true;
  $('scan').textContent = 'Scan their QR code';
  if (text) { $('add-result').className = bad ? 'error' : 'muted'; $('add-result').textContent = text; }
}
async function scan() {
  if (scanning) return stopScan();
  if (!navigator.mediaDevices || typeof jsQR !== 'function') return stopScan('No camera here: paste the share string instead.', true);
  let stream;
  try { stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false }); }
  catch (err) { return stopScan('The camera is not available (' + err.name + '): paste the share string instead.', true); }
  const video = $('scan-video');
  video.srcObject = stream;
  video.hidden = false;
  await video.play().catch(() => {});
  $('scan').textContent = 'Stop scanning';
  $('add-result').className = 'muted';
  $('add-result').textContent = 'Hold their QR code in front of the camera…';
  const canvas = document.createElement('canvas');
  const g = canvas.getContext('2d', { willReadFrequently: true });
  const started = Date.now();
  scanning = { stream, timer: setInterval(() => {
    if (Date.now() - started > 120000) return stopScan('No QR code seen in two minutes.', true);
    if (!video.videoWidth) return;
    canvas.width = video.videoWidth; canvas.height = video.videoHeight;
    g.drawImage(video, 0, 0);
    const code = jsQR(g.getImageData(0, 0, canvas.width, canvas.height).data, canvas.width, canvas.height, { inversionAttempts: 'dontInvert' });
    if (!code) return;
    if (!code.data.startsWith('tlsim://')) { $('add-result').textContent = 'That QR code is not a tlsim share string; still looking…'; return; }
    $('add-peer').value = code.data;
    stopScan('Read their share string: give them a name if you like, then Add.');
    $('add-name').focus();
  }, 200) };
}

$('add-form').onsubmit = addFriend;
$('scan').onclick = scan;
$('copy').onclick = () => navigator.clipboard && navigator.clipboard.writeText(share);
const feed = new EventSource('/api/events');
feed.onmessage = (e) => { $('live').textContent = 'live'; $('live').className = 'pill on'; render(JSON.parse(e.data)); };
feed.onerror = () => { $('live').textContent = 'reconnecting…'; $('live').className = 'pill'; };
`;

// converse.min.js (14) is an ES module whose default export is the converse object.
export const CHAT_JS = `import converse from '/converse/converse.min.js';
fetch('/api/chat-config', { cache: 'no-store' }).then((r) => {
  if (r.status === 401) { location.href = '/login'; throw new Error('not logged in'); }
  return r.json();
}).then((c) => converse.initialize({
  view_mode: 'fullscreen',
  websocket_url: c.websocketUrl,
  jid: c.jid,
  password: c.password,
  auto_login: true,
  discover_connection_methods: false,
  allow_registration: false,
  assets_path: '/converse/',
  i18n: 'en',
  show_controlbox_by_default: true,
  loglevel: 'warn',
  // Peers are tlsim links, not XMPP clients: OMEMO cannot reach them (and would fetch a WebAssembly blob).
  blacklisted_plugins: ['converse-omemo'],
}));
`;
