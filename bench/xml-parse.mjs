// Probe, not one of run.mjs's benchmarks: the XML stream parser alone (issue 14). A realistic c2s stream (the
// lib/messages.mjs mix as chat messages with a receipt request and a chat state, as a client sends them) goes
// through (a) the saxes-based XmlStreamParser that was gateway/xmpp/xml/parser.ts (test/support/saxes-xml-parser.ts),
// (b) saxes alone with no tree built (its floor: UTF-8 decoding and tokenizing), (c) sax-wasm when installed in a
// scratch directory (SAXWASM=/tmp/saxwasm, `npm install --prefix /tmp/saxwasm sax-wasm`; not a dependency), and
// (d) our tokenizer's XmlStreamParser, in 16 KiB reads (full TLS records) and in one read per stanza.
// Interleaved repeats (R, default 7), medians. N stanzas (default 3000). Build first: npx tsc -p bench/tsconfig.json.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { built, fmt, machine, median, table, writeResult } from './lib/common.mjs';
import { messageMix } from './lib/messages.mjs';

const N = Number(process.env.N ?? 3000);
const R = Number(process.env.R ?? 7);
const ours = await built('gateway/xmpp/xml/parser.js');
const oracle = await built('test/support/saxes-xml-parser.js');
const { escapeText } = await built('gateway/xmpp/xml/element.js');
const { SaxesParser } = createRequire(import.meta.url)('saxes');

const HEADER =
  "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0' xml:lang='en'>";
const stanzas = messageMix(N).map(
  (t, i) =>
    `<message to='bob@localhost' id='m${i}-3f9a' type='chat'><body>${escapeText(t)}</body>` +
    "<request xmlns='urn:xmpp:receipts'/><active xmlns='http://jabber.org/protocol/chatstates'/></message>",
);
const stream = Buffer.from(HEADER + stanzas.join(''), 'utf8');
const records = [];
for (let i = 0; i < stream.length; i += 16384) records.push(stream.subarray(i, i + 16384));
const perStanza = [Buffer.from(HEADER), ...stanzas.map((s) => Buffer.from(s, 'utf8'))];

const noop = () => {};
function viaParser(mod) {
  return (reads) => {
    let n = 0;
    const p = new mod.XmlStreamParser({ open: noop, element: () => n++, close: noop });
    for (const r of reads) p.write(r);
    if (n !== N) throw new Error(`${n} stanzas, not ${N}`);
  };
}
function saxesFloor(reads) {
  const d = new TextDecoder('utf-8', { fatal: true });
  const sax = new SaxesParser({ xmlns: true, position: true });
  let n = 0;
  sax.on('text', noop);
  sax.on('opentag', noop);
  sax.on('closetag', (t) => {
    if (t.local === 'message') n++;
  });
  sax.on('error', (e) => {
    throw e;
  });
  for (const r of reads) sax.write(d.decode(r, { stream: true }));
  if (n !== N) throw new Error(`${n} stanzas`);
}

const parsers = [
  ['saxes XmlStreamParser (main)', viaParser(oracle)],
  ['saxes alone, no tree (floor)', saxesFloor],
  ['ours XmlStreamParser', viaParser(ours)],
];
if (process.env.SAXWASM) parsers.splice(2, 0, ['sax-wasm, no tree', await saxWasm(process.env.SAXWASM)]);

/** sax-wasm 3 from a scratch install: events for tags and text, bytes in. */
async function saxWasm(dir) {
  const req = createRequire(join(dir, 'node_modules', 'x.js'));
  const { SAXParser, SaxEventType } = req('sax-wasm');
  const wasm = readFileSync(req.resolve('sax-wasm/lib/sax-wasm.wasm'));
  const events = SaxEventType.Text | SaxEventType.OpenTag | SaxEventType.CloseTag;
  // One instance prepared once (its WebAssembly compile is not what is measured); reset by end() between runs.
  const parser = new SAXParser(events);
  if (!(await parser.prepareWasm(wasm))) throw new Error('sax-wasm did not load');
  let n = 0;
  parser.eventHandler = (type, detail) => {
    if (type === SaxEventType.CloseTag && detail.name === 'message') n++;
  };
  return (reads) => {
    n = 0;
    for (const r of reads) parser.write(r);
    parser.end();
    if (n !== N) throw new Error(`sax-wasm: ${n} stanzas`);
  };
}

const modes = [
  ['16 KiB reads', records],
  ['one stanza per read', perStanza],
];
const times = new Map();
for (let r = -1; r < R; r++) {
  for (const [mode, reads] of modes) {
    for (const [name, run] of parsers) {
      const t0 = process.hrtime.bigint();
      run(reads);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r < 0) continue; // the warm-up round
      const key = `${name}|${mode}`;
      times.set(key, [...(times.get(key) ?? []), ms]);
    }
  }
}
const base = (mode) => median(times.get(`${parsers[0][0]}|${mode}`));
const rows = [];
for (const [mode] of modes) {
  for (const [name] of parsers) {
    const ms = median(times.get(`${name}|${mode}`));
    rows.push([mode, name, fmt(stream.length / 1e6 / (ms / 1e3), 1), fmt((ms * 1e3) / N, 2), fmt(ms / base(mode), 2)]);
  }
}
console.log(`${N} stanzas, ${fmt(stream.length / 1e6, 2)} MB, mean ${fmt(stream.length / N)} bytes; ${R} interleaved repeats, medians`);
table('XML stream parse', ['reads', 'parser', 'MB/s', 'µs/stanza', 'time vs main'], rows);
writeResult('xml-parse', { N, R, bytes: stream.length, times: Object.fromEntries(times), machine: machine() });
