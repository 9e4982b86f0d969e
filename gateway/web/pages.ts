// The status page's HTML and CSS: a plain admin page, no framework, nothing from the network (the
// machine may be offline). The pages carry no data of their own: status.js fills them from the
// live feed, always through textContent, so a peer's name can never become markup.

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string, scripts: string[] = []): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><link rel="stylesheet" href="/assets/app.css"><link rel="icon" href="data:,">
${scripts.map((s) => `<script src="${esc(s)}" defer></script>`).join('\n')}
</head><body>${body}</body></html>`;
}

export function loginPage(message?: string): string {
  return page(
    'tlsim-gateway: log in',
    `<main class="login"><h1>tlsim-gateway</h1>
<form method="post" action="/login" class="card">
<p>Log in with your XMPP account password (the one in <code>xmpp-password</code> in the data directory),
or run <code>tlsim-gateway open</code> for a one-time link.</p>
${message ? `<p class="error" role="alert">${esc(message)}</p>` : ''}
<label>Password <input type="password" name="password" autocomplete="current-password" autofocus required></label>
<button type="submit">Log in</button></form></main>`,
  );
}

export function statusPage(): string {
  return page(
    'tlsim-gateway',
    `<header><h1>tlsim-gateway</h1><nav><a href="/" aria-current="page">Status</a><a href="/chat">Chat</a>
<form method="post" action="/logout"><button class="link">Log out</button></form></nav>
<span id="live" class="pill">connecting…</span></header>
<main class="grid">
<section class="card identity"><h2>Share with a friend</h2>
<div class="share-row"><img id="qr" src="/qr.svg" alt="QR code of your share string" width="220" height="220">
<dl><dt>Share string</dt><dd><code id="share">…</code> <button id="copy" type="button">Copy</button></dd>
<dt>Fingerprint</dt><dd><code id="fingerprint">…</code></dd>
<dt>Your XMPP account</dt><dd><code id="jid">…</code></dd></dl></div></section>
<section class="card add span2"><h2>Add a friend</h2>
<form id="add-form"><label>Their share string <input id="add-peer" name="peer" placeholder="tlsim://…" autocomplete="off" spellcheck="false" required></label>
<label>Name <input id="add-name" name="name" placeholder="optional" autocomplete="off"></label>
<div class="actions"><button type="submit" class="primary">Add</button> <button type="button" id="scan">Scan their QR code</button></div></form>
<video id="scan-video" muted playsinline hidden></video><p id="add-result" role="status"></p></section>
<section class="card"><h2>Tor</h2><p id="tor-state">…</p>
<div class="bar" aria-hidden="true"><div id="tor-bar"></div></div><p id="tor-detail" class="muted"></p></section>
<section class="card span2"><h2>Messages</h2><p><span id="queued" class="big">0</span> queued to send ·
<span id="online">0</span> linked now</p><svg id="spark" viewBox="0 0 300 60" role="img" aria-label="messages per 10 seconds"></svg>
<p class="muted legend"><span class="in">■</span> in <span class="out">■</span> out, per 10 s, last 10 minutes</p></section>
<section class="card wide"><h2>Waiting requests</h2><div id="requests"><p class="muted">None.</p></div></section>
<section class="card wide"><h2>Contacts</h2><table><thead><tr><th>Name</th><th>Link</th><th>Address</th><th>Fingerprint</th></tr></thead>
<tbody id="contacts"></tbody></table></section>
<section class="card wide"><h2>Log</h2><pre id="log"></pre></section>
</main>`,
    ['/assets/jsqr.js', '/assets/status.js'],
  );
}

export function chatPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>tlsim-gateway: chat</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/converse/converse.min.css">
<script type="module" src="/assets/chat.js"></script>
</head><body class="converse-fullscreen"></body></html>`;
}

export const APP_CSS = `
:root { --fg:#1d2430; --muted:#667085; --line:#d9dee7; --bg:#f4f6f9; --card:#fff; --accent:#2459c7; --ok:#1a7f37; --warn:#b54708; --bad:#b42318; }
* { box-sizing: border-box; }
body { margin:0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; align-items:center; gap:24px; padding:10px 24px; background:#1d2430; color:#fff; }
header h1 { font-size:17px; margin:0; letter-spacing:.02em; }
header nav { display:flex; gap:16px; align-items:center; flex:1; }
header nav a, header .link { color:#cdd6e4; text-decoration:none; background:none; border:0; font:inherit; cursor:pointer; padding:0; }
header nav a[aria-current] { color:#fff; font-weight:600; }
header form { margin:0; }
.pill { font-size:12px; padding:2px 10px; border-radius:10px; background:#3a4456; }
.pill.on { background:var(--ok); }
main.grid { display:grid; grid-template-columns: 2fr 1fr 1fr; gap:16px; padding:20px 24px; max-width:1400px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:14px 18px; min-width:0; }
.card.wide { grid-column: 1 / -1; } .card.span2 { grid-column: span 2; }
.card h2 { font-size:13px; text-transform:uppercase; letter-spacing:.06em; color:var(--muted); margin:0 0 10px; }
.share-row { display:flex; gap:20px; align-items:flex-start; }
.share-row img { border:1px solid var(--line); border-radius:4px; flex:none; image-rendering: pixelated; }
dl { margin:0; min-width:0; } dt { color:var(--muted); font-size:12px; margin-top:8px; } dd { margin:2px 0 0; }
code { font: 13px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; word-break:break-all; }
button { font:inherit; padding:4px 12px; border:1px solid var(--line); border-radius:4px; background:#fff; cursor:pointer; }
button.primary { background:var(--accent); border-color:var(--accent); color:#fff; }
button.danger { color:var(--bad); }
.big { font-size:22px; font-weight:600; }
.muted { color:var(--muted); } .error { color:var(--bad); }
.bar { height:8px; background:#e6e9ef; border-radius:4px; overflow:hidden; }
.bar div { height:100%; width:0; background:var(--accent); transition: width .4s; }
.bar div.ready { background:var(--ok); }
#spark { width:100%; height:60px; display:block; background:#fafbfc; border:1px solid var(--line); border-radius:4px; }
.legend .in { color:var(--accent); } .legend .out { color:var(--warn); }
table { width:100%; border-collapse:collapse; } th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-size:12px; color:var(--muted); font-weight:600; }
.dot { display:inline-block; width:9px; height:9px; border-radius:50%; background:#c3c9d4; margin-right:6px; }
.dot.on { background:var(--ok); }
.request { display:flex; gap:12px; align-items:center; padding:6px 0; border-bottom:1px solid var(--line); }
.request:last-child { border-bottom:0; } .request .who { flex:1; min-width:0; }
.add label { display:block; margin:6px 0; font-size:13px; color:var(--muted); }
.add input { display:block; width:100%; margin-top:2px; padding:6px 8px; font:inherit; color:var(--fg); border:1px solid var(--line); border-radius:4px; }
.add .actions { margin-top:8px; } #add-result { overflow-wrap:anywhere; } .add video { width:100%; max-height:220px; margin-top:8px; border-radius:4px; background:#000; }
pre#log { margin:0; max-height:260px; overflow:auto; font: 12px/1.45 ui-monospace, "DejaVu Sans Mono", monospace; background:#0f1623; color:#d7dde8; padding:10px; border-radius:4px; white-space:pre-wrap; }
main.login { max-width:420px; margin:12vh auto; padding:0 16px; }
main.login h1 { font-size:20px; }
main.login label { display:block; margin:12px 0; } main.login input { display:block; width:100%; margin-top:4px; padding:8px; font:inherit; border:1px solid var(--line); border-radius:4px; }
@media (max-width: 900px) { main.grid { grid-template-columns: 1fr; } .card.span2 { grid-column: auto; } .share-row { flex-direction:column; } }
`;
