// Fuzzing the Tor control-protocol codec (control-spec §2.1 quoting, §2.3 and §4 reply framing;
// bridge-protocol/tor/control-parse.ts): replies come out the same in any reads, data blocks round-trip, limits
// hold with TorError('protocol'), and quoting round-trips through parseArgs.
import fc from 'fast-check';
import {
  parseArgs,
  parseBootstrap,
  parseConfLines,
  parseHsDesc,
  parseKeyValueLines,
  quote,
  ReplyParser,
  toEvent,
  TorError,
  unescapeCString,
  type Reply,
} from '../../bridge-protocol/tor/control-parse.js';
import { chunks, cuts, fuzzTarget, outcome, tokenBytes } from './support.js';

const lineText = fc.string({
  unit: fc.oneof(fc.constantFrom(...'ab =".\\-+0'), fc.constantFrom('é', '😀', '\t'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => c !== '\r' && c !== '\n')),
  maxLength: 20,
});
/** Replies as tor writes them: mid lines, data lines with dot-stuffed blocks, one final line. */
const replyArb = fc
  .tuple(
    fc.array(fc.tuple(fc.integer({ min: 200, max: 699 }), fc.boolean(), lineText, fc.array(lineText, { maxLength: 4 })), { maxLength: 3 }),
    fc.integer({ min: 100, max: 999 }),
    lineText,
  )
  .map(([mids, code, text]): Reply => ({
    code,
    lines: [
      ...mids.map(([c, data, t, block]) => (data ? { code: c, sep: '+' as const, text: t, data: block.join('\n') } : { code: c, sep: '-' as const, text: t })),
      { code, sep: ' ' as const, text },
    ],
  }));

function wire(replies: Reply[], crlf: boolean): Buffer {
  const eol = crlf ? '\r\n' : '\n';
  let out = '';
  for (const r of replies) {
    for (const l of r.lines) {
      out += `${l.code}${l.sep}${l.text}${eol}`;
      if (l.sep === '+') out += `${(l.data ?? '').split('\n').filter((_, i, a) => a.length > 1 || a[0] !== '' || i > 0).map((d) => (d.startsWith('.') ? `.${d}` : d) + eol).join('')}.${eol}`;
    }
  }
  return Buffer.from(out, 'utf8');
}

/** Replies until the first TorError; any other error fails the property. */
function parse(reads: Buffer[], maxLine?: number, maxReply?: number): { replies: Reply[]; error?: TorError } {
  const p = new ReplyParser(maxLine, maxReply);
  const replies: Reply[] = [];
  for (const r of reads) {
    try {
      replies.push(...p.push(r));
      if ((p as unknown as { pending: Buffer }).pending.length > (maxLine ?? 64 * 1024)) throw new Error('holds more than a line');
    } catch (err) {
      if (err instanceof TorError && err.reason === 'protocol') return { replies, error: err };
      throw err;
    }
  }
  return { replies };
}

const CONTROL_TOKENS = ['250', '650', '515', '-', '+', ' ', 'OK', '\r\n', '\n', '\r', '.', '..', 'x', 'KEY=v', '"', '\\', 'é', '25', '2500'];

fuzzTarget('tor-control', (t) => {
  t.property('written replies (data blocks, CRLF or LF) parse back in any reads', [fc.array(replyArb, { maxLength: 3 }), fc.boolean(), cuts()], (replies, crlf, at) => {
    const got = parse(chunks(wire(replies, crlf), at));
    // Tor's text is UTF-8: what the parser returns is the text as decoded (lone surrogates become U+FFFD).
    const norm = (rs: Reply[]) => JSON.stringify(rs, (_k, v: unknown) => (typeof v === 'string' ? Buffer.from(v, 'utf8').toString('utf8') : v));
    return got.error === undefined && norm(got.replies) === norm(replies);
  }, { runs: 1500 });

  t.property('any bytes: the same replies in any reads, only TorError, never more than a line held', [
    tokenBytes(CONTROL_TOKENS, { maxTokens: 30 }),
    cuts(),
    fc.integer({ min: 1, max: 40 }),
    fc.integer({ min: 1, max: 200 }),
  ], (bytes, at, maxLine, maxReply) => {
    const bytewise = parse([...bytes].map((b) => Buffer.from([b])), maxLine, maxReply);
    const once = parse([bytes], maxLine, maxReply);
    const cut = parse(chunks(bytes, at), maxLine, maxReply);
    const same = (a: typeof once, b: typeof once) =>
      (a.error === undefined) === (b.error === undefined) &&
      (a.error !== undefined ? a.replies.every((r, i) => JSON.stringify(r) === JSON.stringify(b.replies[i])) : JSON.stringify(a.replies) === JSON.stringify(b.replies));
    return same(once, bytewise) && same(cut, bytewise);
  }, { runs: 1500 });

  t.property('a line over the limit, or a reply over its limit, is a protocol error', [fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 4 }), cuts()], (max, extra, at) => {
    const long = Buffer.from(`250 ${'x'.repeat(max)}\r\n`);
    const lineLimit = max + 3 + extra; // the line is max+5 bytes before its LF (the CR counts)
    const line = parse(chunks(long, at), lineLimit);
    // The same line three times as one reply of 3 lines: over a reply limit just under their sum.
    const three = Buffer.from(`250-${'x'.repeat(max)}\r\n250-${'x'.repeat(max)}\r\n250 ${'x'.repeat(max)}\r\n`);
    const reply = parse(chunks(three, at), 1000, three.length - 1 + extra);
    return (line.error !== undefined) === (long.length - 1 > lineLimit) && (reply.error !== undefined) === (extra === 0);
  }, { runs: 500, weight: 0.3 });

  const argValue = fc.string({ unit: fc.oneof(fc.constantFrom('"', '\\', ' ', '=', '\\n', '\u2028'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 16 })
    .filter((v) => !/[\r\n\0]/.test(v));
  t.property('quote() then parseArgs gives the value back, as KEY=value and positionally', [argValue, fc.stringMatching(/^[A-Z_]{1,8}$/)], (v, key) => {
    return parseArgs(`${key}=${quote(v)}`).kv[key] === v && JSON.stringify(parseArgs(`A ${quote(v)} B`).positional) === JSON.stringify(['A', v, 'B']);
  }, { runs: 2000 });

  t.property('event and argument parsers never throw on any text', [fc.string({ unit: fc.oneof(fc.constantFrom('BOOTSTRAP', 'PROGRESS=', 'NOTICE', ' ', '"', '\\', '=', 'RECEIVED', '\\0', '\\377'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 30 })], (text) => {
    const r: Reply = { code: 650, lines: [{ code: 650, sep: ' ', text }] };
    const all = outcome(() => [parseArgs(text), unescapeCString(text), parseBootstrap(text), parseHsDesc(text), toEvent(r), parseKeyValueLines(r), parseConfLines(r)]);
    return all.ok;
  }, { runs: 2000 });
});
