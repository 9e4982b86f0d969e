// Fuzzing the XMPP XML stream parser (RFC 6120 §11 restricted XML; gateway/xmpp/xml/parser.ts, utf8.ts,
// element.ts): random trees round-trip, any split gives the same stream, restricted XML and the limits end the
// stream with the parser's own StreamError, and nothing else is ever thrown.
import fc from 'fast-check';
import { StreamError } from '../../gateway/xmpp/errors.js';
import { Element } from '../../gateway/xmpp/xml/element.js';
import { parseFramedElement, XmlStreamParser, type XmlLimits } from '../../gateway/xmpp/xml/parser.js';
import { Utf8StreamDecoder } from '../../gateway/xmpp/xml/utf8.js';
import { chunks, cuts, fuzzTarget, outcome, splitsInTwo, tokenBytes } from './support.js';
import { anyText, FOOTER, HEADER, legalChar, legalText, stanza, streamOf, ws, xmlToken } from './xml-arbitraries.js';


// ---- running the parser --------------------------------------------------------------------------------------

interface Run {
  events: string[];
  /** 'ok', or the StreamError condition it ended with. */
  status: string;
  /** Index of the write that threw. */
  failedAt?: number;
}

function run(reads: Array<Uint8Array | string>, limits: Partial<XmlLimits> = {}, maxBuffered = Infinity): Run {
  const events: string[] = [];
  const parser = new XmlStreamParser(
    {
      open: (o) => events.push(`open ${JSON.stringify(o)}`),
      element: (e) => events.push(e.toString()),
      close: () => events.push('close'),
    },
    limits,
  );
  for (let i = 0; i < reads.length; i++) {
    try {
      parser.write(reads[i]!);
      if (buffered(parser) > maxBuffered) return { events, status: `holds ${buffered(parser)} bytes`, failedAt: i };
    } catch (err) {
      if (!(err instanceof StreamError)) throw err;
      // A failed parser stays failed, with the same error.
      try {
        parser.write('<x/>');
      } catch (again) {
        if (again !== err) throw new Error('a failed parser threw a different error');
      }
      return { events, status: err.condition, failedAt: i };
    }
  }
  return { events, status: 'ok' };
}


function sameRun(a: Run, b: Run, exact: boolean): boolean {
  if (a.status !== b.status && exact) return false;
  if ((a.status === 'ok') !== (b.status === 'ok')) return false;
  if (exact || a.status === 'ok') return JSON.stringify(a.events) === JSON.stringify(b.events);
  // Invalid UTF-8 is found when its read is decoded, so a bigger read may stop before events a smaller one gave.
  return a.events.every((e, i) => b.events[i] === e) || b.events.every((e, i) => a.events[i] === e);
}

/** A stream of valid and broken XML, as bytes, sometimes with raw bytes (invalid UTF-8 among them) mixed in. */
const messyStream = fc
  .tuple(
    fc.array(xmlToken, { maxLength: 12 }),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 2 }),
  )
  .map(([tokens, patches]) => {
    const bytes = Buffer.from(HEADER + tokens.join(''), 'utf8');
    for (const [at, byte] of patches) if (bytes.length > HEADER.length) bytes[HEADER.length + (at % (bytes.length - HEADER.length))] = byte;
    return bytes;
  });
const isUtf8 = (b: Buffer) => {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
};

/** How many of the first `n` bytes of valid UTF-8 form whole characters. */
function completeBytes(bytes: Buffer, n: number): number {
  let lead = n;
  while (lead > 0 && lead > n - 4 && (bytes[lead - 1]! & 0xc0) === 0x80) lead--;
  if (lead === 0 || bytes[lead - 1]! < 0xc0) return n;
  const size = bytes[lead - 1]! >= 0xf0 ? 4 : bytes[lead - 1]! >= 0xe0 ? 3 : 2;
  return lead - 1 + size <= n ? n : lead - 1;
}

/**
 * What the parser holds between reads, in UTF-8 bytes: the tokenizer's unfinished token (text, name, attribute
 * values, reference) and the stanza built so far (white-box: the private fields are read, not changed).
 */
function buffered(parser: XmlStreamParser): number {
  const { tok, tree } = parser as unknown as { tok: { held: number }; tree: { stack: Element[] } };
  return tok.held + Buffer.byteLength(tree.stack[0]?.toString() ?? '');
}

fuzzTarget('xml-parser', (t) => {
  t.property('serialise then parse is the identity, in any reads', [fc.array(stanza, { minLength: 1, maxLength: 3 }), cuts()], (stanzas, at) => {
    const text = streamOf(stanzas);
    const r = run(chunks(Buffer.from(text, 'utf8'), at));
    return r.status === 'ok' && JSON.stringify(r.events.slice(1)) === JSON.stringify([...stanzas.map(String), 'close']);
  }, { runs: 100, weight: 0.3 });

  t.property('a WebSocket frame (RFC 7395) round-trips too', [stanza], (el) => parseFramedElement(el.toString()).toString() === el.toString(), { runs: 300 });

  t.property('any text and attribute value survive, characters XML cannot carry becoming U+FFFD', [anyText, anyText], (text, value) => {
    const el = new Element('body', { xmlns: 'jabber:client', v: value }).append(text === '' ? undefined : text);
    const parsed = parseFramedElement(el.toString());
    const legal = (s: string) =>
      s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
    return parsed.text() === legal(text) && parsed.attr('v') === legal(value);
  }, { weight: 4 });

  t.property('UTF-8 decoding in any reads: the text of one read, or not-well-formed', [
    fc.oneof(fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b)), legalText(12).map((s) => Buffer.from(`\ufeff${s}`, 'utf8')), tokenBytes(['é', '😀', '\ufeff', 'a', '\u0800'])), // raw bytes mixed in: invalid and cut sequences
    cuts(),
  ], (bytes, at) => {
    const want = outcome(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    const d = new Utf8StreamDecoder();
    const got = outcome(() => chunks(bytes, at).map((c) => d.decode(c)).join('') + d.end());
    if (!got.ok) return !want.ok && got.error instanceof StreamError && got.error.condition === 'not-well-formed';
    return want.ok && got.value === want.value;
  }, { runs: 500, weight: 3 });

  t.property('random and broken streams: the same events in any reads, only StreamError thrown', [messyStream, cuts()], (bytes, at) => {
    const bytewise = run([...bytes].map((b) => Uint8Array.of(b)));
    const exact = isUtf8(bytes);
    return sameRun(bytewise, run([bytes]), exact) && sameRun(bytewise, run(chunks(bytes, at)), exact);
  }, { runs: 150, weight: 0.3 });

  const smallStream = fc.array(stanza, { maxLength: 2 }).map((s) => Buffer.from(streamOf(s), 'utf8')).filter((b) => b.length <= 600);
  t.property('cut in two at every byte, a stream gives the same events', [smallStream], (bytes) => {
    const whole = run([bytes]);
    for (const [a, b] of splitsInTwo(bytes)) if (!sameRun(whole, run([a, b]), true)) return false;
    return whole.status === 'ok';
  }, { runs: 8, weight: 0.01 });

  t.property('DOCTYPE, entities, comments and PIs are refused as restricted-xml wherever they are', [
    fc.array(stanza, { minLength: 1, maxLength: 2 }),
    fc.constantFrom('<!DOCTYPE x>', '<!-- c -->', '<?pi data?>', '&ent;', '<!ENTITY e "x">'),
    fc.nat(),
    cuts(),
  ], (stanzas, bad, where, at) => {
    const text = streamOf(stanzas);
    // After any '>' of the stream (a literal '>' only ends a tag: in text and values it is escaped).
    const ends = [...text.matchAll(/>/g)].map((m) => m.index + 1).filter((i) => i >= HEADER.length && i < text.length - FOOTER.length + 1);
    const i = ends[where % ends.length]!;
    const r = run(chunks(Buffer.from(text.slice(0, i) + bad + text.slice(i), 'utf8'), at));
    // An <!ENTITY outside a DOCTYPE is not even well-formed: any StreamError will do for it.
    return r.status === (bad === '<!ENTITY e "x">' ? r.status : 'restricted-xml') && r.status !== 'ok';
  }, { runs: 200, weight: 0.5 });

  t.property('a stanza over the byte limit fails exactly at the read that crosses it', [
    fc.integer({ min: 150, max: 3000 }), // above the stream header's 135 bytes, which count too
    fc.constantFrom('text', 'attribute', 'many children'),
    legalChar,
    cuts(),
  ], (limit, kind, ch, at) => {
    const filler = ch.repeat(Math.ceil((limit + 10) / Buffer.byteLength(ch)));
    const body =
      kind === 'text'
        ? `<message><body>${new Element('x').append(filler).toString().slice(3, -4)}`
        : kind === 'attribute'
          ? `<message a="${filler.replace(/[<&"\t\n\r]/g, '_')}`
          : `<message>${'<b/>'.repeat(Math.ceil(limit / 4) + 3)}`;
    const bytes = Buffer.from(HEADER + body, 'utf8');
    const reads = chunks(bytes, at);
    // Never more held than the limit (plus the tags the stanza's own text is wrapped in when rebuilt).
    const r = run(reads, { maxStanzaBytes: limit }, limit + 64);
    let fed = 0;
    // A character split across reads is counted when its last byte arrives (the decoder holds the rest).
    const crossing = reads.findIndex((c) => completeBytes(bytes, (fed += c.length)) - Buffer.byteLength(HEADER) > limit);
    return r.status === 'policy-violation' && r.failedAt === crossing && r.events.length === 1;
  }, { runs: 200 });

  t.property('one huge read of an unfinished stanza is refused, not buffered', [fc.integer({ min: 1, max: 8 })], (mb) => {
    const limit = 64 * 1024;
    const r = run([HEADER, `<message><body>${'x'.repeat(mb * 100_000)}`], { maxStanzaBytes: limit });
    return r.status === 'policy-violation';
  }, { runs: 2, weight: 0.001 });

  t.property('nesting and attributes are allowed up to their limits, refused one past them', [
    fc.integer({ min: 1, max: 12 }),
    fc.integer({ min: 4, max: 12 }), // the stream root's own 4 count too
    fc.boolean(),
    fc.boolean(),
    cuts(),
  ], (maxDepth, maxAttributes, overDepth, overAttrs, at) => {
    const depth = maxDepth + (overDepth ? 1 : 0);
    const attrs = Array.from({ length: maxAttributes + (overAttrs ? 1 : 0) }, (_, i) => ` a${i}="${i}"`).join('');
    const open = Array.from({ length: depth }, (_, i) => (i === depth - 1 ? `<e${i}${attrs}>` : `<e${i}>`)).join('');
    const close = Array.from({ length: depth }, (_, i) => `</e${depth - 1 - i}>`).join('');
    const r = run(chunks(Buffer.from(HEADER + open + close + FOOTER, 'utf8'), at), { maxDepth, maxAttributes });
    return r.status === (overDepth || overAttrs ? 'policy-violation' : 'ok');
  });

  t.property('the byte limit counts each stanza exactly: allowed at its size, refused one byte under', [
    fc.array(fc.tuple(ws, stanza), { minLength: 1, maxLength: 4 }),
    ws,
    fc.boolean(),
    cuts(),
  ], (parts, tail, under, at) => {
    const segments = [...parts.map(([gap, el]) => gap + el.toString()), tail + FOOTER];
    const largest = Math.max(...segments.map((s) => Buffer.byteLength(s)));
    // The header in a read of its own: bytes before the root's start tag count too, and here only stanzas are measured.
    const bytes = Buffer.from(segments.join(''), 'utf8');
    const r = run([HEADER, ...chunks(bytes, at)], { maxStanzaBytes: largest - (under ? 1 : 0) });
    return r.status === (under ? 'policy-violation' : 'ok');
  }, { runs: 200, weight: 0.3 });
});
