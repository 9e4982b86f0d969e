// A lean raw-socket XMPP client for load: STARTTLS, SASL PLAIN, bind, session, presence once,
// then pipelined <message/>s out and a cheap scanner for <message/>s in (no DOM: the client
// must cost far less than the servers it measures). The same client runs against the gateway
// and against Prosody.
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { markersIn } from './messages.mjs';

const header = (to) =>
  `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${to}' version='1.0' xml:lang='en'>`;

export function escapeXml(s) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}
const ENT = { amp: '&', lt: '<', gt: '>', apos: "'", quot: '"' };
function unescapeXml(s) {
  if (!s.includes('&')) return s;
  return s.replace(/&(amp|lt|gt|apos|quot|#x?[0-9a-fA-F]+);/g, (_, e) =>
    ENT[e] ?? String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)),
  );
}

export class XmppLoadClient {
  constructor() {
    this.buf = '';
    this.socket = undefined;
    this.waiter = undefined;
    /** Called with (seq, receivedAtMs) for every marker found in an incoming message body. */
    this.onMarker = () => {};
    this.messagesIn = 0;
  }

  /** Connect, negotiate and come online; resolves with the bound full JID. */
  static async login({ host = '127.0.0.1', port, domain, user, password, resource = 'bench', timeoutMs = 20_000 }) {
    const c = new XmppLoadClient();
    const t = setTimeout(() => c.socket?.destroy(new Error(`login to ${domain}:${port} timed out`)), timeoutMs);
    try {
      const raw = netConnect({ host, port });
      raw.setNoDelay(true);
      await new Promise((res, rej) => raw.once('connect', res).once('error', rej));
      c.attach(raw);
      raw.write(header(domain));
      let f = await c.until(/<\/stream:features>/);
      if (!f.includes('starttls')) throw new Error('the server offers no STARTTLS');
      raw.write(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`);
      await c.until(/<proceed[^>]*>/);
      raw.removeAllListeners('data');
      const sec = tlsConnect({ socket: raw, servername: domain, rejectUnauthorized: false });
      await new Promise((res, rej) => sec.once('secureConnect', res).once('error', rej));
      c.buf = '';
      c.attach(sec);
      sec.write(header(domain));
      f = await c.until(/<\/stream:features>/);
      if (!/PLAIN/.test(f)) throw new Error(`no SASL PLAIN offered: ${f}`);
      sec.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${password}`).toString('base64')}</auth>`);
      const outcome = await c.until(/<success[^>]*(\/>|<\/success>)|<failure[\s\S]*?<\/failure>/);
      if (!outcome.includes('<success')) throw new Error(`SASL failed: ${outcome}`);
      c.buf = '';
      sec.write(header(domain));
      f = await c.until(/<\/stream:features>/);
      sec.write(`<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
      const bound = await c.until(/<iq[^>]*id=["']bind1["'][\s\S]*?(<\/iq>|\/>)/);
      c.jid = /<jid>([^<]+)<\/jid>/.exec(bound)?.[1];
      if (!c.jid) throw new Error(`bind failed: ${bound}`);
      if (f.includes('urn:ietf:params:xml:ns:xmpp-session')) {
        sec.write(`<iq type='set' id='sess1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>`);
        await c.until(/<iq[^>]*id=["']sess1["'][^>]*>/);
      }
      sec.write(`<presence/><iq type='get' id='sync1'><ping xmlns='urn:xmpp:ping'/></iq>`);
      await c.until(/<iq[^>]*id=["']sync1["'][^>]*>/);
      c.online = true;
      c.buf = '';
      return c;
    } finally {
      clearTimeout(t);
    }
  }

  attach(socket) {
    this.socket = socket;
    socket.on('error', () => {});
    // A character split between two reads must not become two U+FFFD.
    socket.setEncoding('utf8');
    socket.on('data', (d) => this.feed(d));
  }

  until(re, timeoutMs = 15_000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = re.exec(this.buf);
        if (!m) {
          if (/<stream:error|<\/stream:stream>/.test(this.buf)) {
            this.waiter = undefined;
            reject(new Error(`stream ended: ${this.buf.slice(0, 500)}`));
          }
          return false;
        }
        const end = m.index + m[0].length;
        const text = this.buf.slice(0, end);
        this.buf = this.buf.slice(end);
        this.waiter = undefined;
        clearTimeout(timer);
        resolve(text);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`timed out waiting for ${re}; have: ${this.buf.slice(-300)}`));
      }, timeoutMs);
      this.waiter = check;
      check();
    });
  }

  feed(s) {
    this.buf += s;
    // An iq awaited with until() while online (files.mjs: an upload slot) is taken before messages are read.
    if (this.online) this.waiter?.();
    if (!this.online) {
      this.waiter?.();
      return;
    }
    // Online: find complete <message>…</message> stanzas, read markers from their bodies.
    const now = performance.now();
    let from = 0;
    for (;;) {
      const start = this.buf.indexOf('<message', from);
      if (start < 0) {
        // Keep a tag cut by the end of this read ("…</message><mess"): dropping it lost that message.
        const lt = this.buf.lastIndexOf('<');
        from = lt >= from ? lt : this.buf.length;
        break;
      }
      const end = this.buf.indexOf('</message>', start);
      if (end < 0) {
        from = start;
        break;
      }
      const stanza = this.buf.slice(start, end);
      const b = stanza.indexOf('<body>');
      if (b >= 0) {
        const e = stanza.indexOf('</body>', b);
        const body = unescapeXml(stanza.slice(b + 6, e));
        this.messagesIn++;
        for (const seq of markersIn(body)) this.onMarker(seq, now);
      }
      from = end + 10;
    }
    this.buf = this.buf.slice(from);
    this.waiter?.();
  }

  /** Queues one chat message (no await: pipelined); returns false when the socket buffer is full. */
  send(to, text) {
    return this.socket.write(`<message type='chat' to='${to}'><body>${escapeXml(text)}</body></message>`);
  }

  drained() {
    return new Promise((r) => (this.socket.writableNeedDrain ? this.socket.once('drain', r) : r()));
  }

  close() {
    try {
      this.socket.end('</stream:stream>');
    } catch {}
    setTimeout(() => this.socket.destroy(), 500).unref();
  }
}

/**
 * Sends `texts` (marker added) from `sender` to `toJid`, received by `receiver`; returns throughput and
 * latencies (ms). `rate`: offered msgs/s (open loop, paced every 5 ms), or undefined = saturation with
 * at most `window` messages in flight (closed loop). Stops after `maxMs` even if messages are missing.
 */
export async function runLoad({ sender, receiver, toJid, texts, rate, window = 200, maxMs = 60_000, seqBase = 0 }) {
  const n = texts.length;
  const sentAt = new Float64Array(n).fill(-1);
  const lat = [];
  let received = 0;
  let dup = 0;
  let next = 0;
  let lastRecv = 0;
  let wake;
  receiver.onMarker = (seq, now) => {
    const i = seq - seqBase;
    if (i < 0 || i >= n || sentAt[i] < 0) return;
    if (sentAt[i] === -2) {
      dup++;
      return;
    }
    lat.push(now - sentAt[i]);
    sentAt[i] = -2;
    received++;
    lastRecv = now;
    wake?.();
  };
  const t0 = performance.now();
  const deadline = t0 + maxMs;
  const sendOne = () => {
    const i = next++;
    sentAt[i] = performance.now();
    return sender.send(toJid, `#m${seqBase + i}# ${texts[i]}`);
  };
  if (rate) {
    const interval = 5;
    while (next < n && performance.now() < deadline) {
      const due = Math.min(n, Math.floor(((performance.now() - t0) / 1000) * rate));
      while (next < due) sendOne();
      await new Promise((r) => setTimeout(r, interval));
    }
  } else {
    while (next < n && performance.now() < deadline) {
      while (next < n && next - received < window) {
        if (!sendOne()) break;
      }
      if (sender.socket.writableNeedDrain) await sender.drained();
      else await new Promise((r) => ((wake = r), setTimeout(r, 50)));
      wake = undefined;
    }
  }
  const sentAll = performance.now();
  while (received < next && performance.now() < deadline + 5000) {
    await new Promise((r) => ((wake = r), setTimeout(r, 50)));
    wake = undefined;
    if (performance.now() - Math.max(lastRecv, sentAll) > 5_000) break; // stalled: the rest is lost
  }
  receiver.onMarker = () => {};
  // Throughput up to the last message that arrived (a lost one must not add the stall wait).
  const elapsed = ((received > 0 ? lastRecv : performance.now()) - t0) / 1000;
  const lostSeqs = [];
  for (let i = 0; i < next && lostSeqs.length < 5; i++) if (sentAt[i] >= 0) lostSeqs.push(seqBase + i);
  lat.sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.max(0, Math.ceil((p / 100) * lat.length) - 1))];
  return {
    offered: rate ?? 'saturation',
    sent: next,
    received,
    lost: next - received,
    lostSeqs,
    duplicates: dup,
    seconds: +elapsed.toFixed(3),
    msgsPerSec: received / elapsed,
    sendSeconds: +((sentAll - t0) / 1000).toFixed(3),
    p50: pct(50),
    p99: pct(99),
    max: lat[lat.length - 1],
  };
}
