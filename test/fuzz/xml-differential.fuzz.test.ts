// Differential fuzzing of the XML stream parser (issue 14): our tokenizer (gateway/xmpp/xml/parser.ts) against
// the saxes-based parser it replaced (test/support/saxes-xml-parser.ts), on XMPP-like streams and RFC 7395 frames
// with mutations, each in random reads: the same events (the stream's open with its attributes and namespaces,
// each stanza's toString(), the close) and the same outcome (no error, or a StreamError with the same condition).
// Where the two may differ on purpose (ours right, saxes or the old wrapper not), the exception is named below and
// checked as narrowly as it can be.
import fc from 'fast-check';
import { StreamError } from '../../gateway/xmpp/errors.js';
import * as ours from '../../gateway/xmpp/xml/parser.js';
import * as saxes from '../support/saxes-xml-parser.js';
import { chunks, cuts, fuzzTarget } from './support.js';
import { FOOTER, HEADER, stanza, streamOf, ws, xmlToken } from './xml-arbitraries.js';

type Parsers = typeof ours | typeof saxes;

interface Run {
  events: string[];
  /** 'ok', or the StreamError condition it ended with. */
  status: string;
  message?: string;
}

function runStream(p: Parsers, reads: ReadonlyArray<Uint8Array | string>, limits: Partial<ours.XmlLimits>): Run {
  const events: string[] = [];
  const parser = new p.XmlStreamParser(
    { open: (o) => events.push(`open ${JSON.stringify(o)}`), element: (e) => events.push(e.toString()), close: () => events.push('close') },
    limits,
  );
  for (const r of reads) {
    try {
      parser.write(r);
    } catch (err) {
      if (!(err instanceof StreamError)) throw err;
      return { events, status: err.condition, message: err.message };
    }
  }
  return { events, status: 'ok' };
}

function runFrame(p: Parsers, message: string, limits: Partial<ours.XmlLimits>): Run {
  try {
    return { events: [p.parseFramedElement(message, limits).toString()], status: 'ok' };
  } catch (err) {
    if (!(err instanceof StreamError)) throw err;
    return { events: [], status: err.condition, message: err.message };
  }
}

// ---- the named exceptions ------------------------------------------------------------------------------------

/**
 * DOCTYPE before the root: ours refuses `<!DOCTYPE` as restricted-xml as soon as it has read it; saxes read the
 * whole declaration first and refused it at its `>` (a bad character inside gave not-well-formed, an unfinished
 * one no error yet). After the root both refuse it at once.
 */
const doctypeEarly = (a: Run, b: Run) => a.message === 'restricted-xml: DOCTYPE is not allowed in XMPP' && sameEvents(a, b);

/**
 * An XML declaration with a version other than 1.0: saxes then read the stream by XML 1.1's rules (NEL and
 * U+2028 as line ends, C1 controls refused, &#1; allowed); ours reads every stream as XML 1.0, which is what
 * RFC 6120 §11 builds on (XML 1.0 §2.8 lets a 1.0 processor read a 1.x document as 1.0).
 */
const XML11 = /^\uFEFF?<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(['"])1\.(?!0\1)[0-9]+\1/;

/**
 * A lone surrogate (only a string can carry one: UTF-8 bytes cannot): saxes read a high surrogate together with
 * whatever unit followed it; ours refuses it as a character XML does not allow (XML 1.0 §2.2 Char).
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * saxes's condition misread from its own message: the old parser chose restricted-xml or bad-namespace-prefix by
 * matching words in saxes's message, and some messages quote a name from the input, so `</-DOCTYPE>` (an
 * unmatched end tag) or a prefix named `doctype` came out as restricted-xml. Ours gives the condition of the error
 * itself; it must be the one the message meant without the name.
 */
const QUOTING = /^(unmatched closing tag|unclosed tag|malformed name|unbound namespace prefix|duplicate attribute): /;
function saxesMisread(a: Run, b: Run): boolean {
  const what = QUOTING.exec(b.message?.replace(/^[a-z-]+: /, '') ?? '')?.[1];
  if (what === undefined) return false;
  return a.status === (what === 'unbound namespace prefix' ? 'bad-namespace-prefix' : 'not-well-formed') && sameEvents(a, b);
}

function sameEvents(a: Run, b: Run): boolean {
  return JSON.stringify(a.events) === JSON.stringify(b.events);
}

/** Ours `a` against saxes `b` for the input `text`: equal, or one of the exceptions above. */
function agree(a: Run, b: Run, text: string): boolean {
  if (a.status === b.status && sameEvents(a, b)) return true;
  if (XML11.test(text)) return true;
  // A high surrogate at the very end is held for its pair by both, never read.
  if (LONE_SURROGATE.test(text.replace(/[\uD800-\uDBFF]$/, ''))) return a.status !== 'ok';
  if (doctypeEarly(a, b) || saxesMisread(a, b)) return true;
  throw new Error(`differ:\n ours  ${a.status} ${a.message ?? ''} ${JSON.stringify(a.events)}\n saxes ${b.status} ${b.message ?? ''} ${JSON.stringify(b.events)}`);
}

// ---- inputs ----------------------------------------------------------------------------------------------------

/** What mutations insert: XMPP's refused constructs, broken markup, names and values at their edges. */
const SNIPPETS = [
  '<!DOCTYPE a>', '<!DOCTYPE', '<!DOCTYPE a [<!ENTITY e "x">]>', '&foo;', '&', '&#', '&#x110000;', '&#xD800;', '&#0;', '&#65;',
  '&#x41;', '&#X41;', '&amp', '&;', '<!--', '-->', '--', '<!-- c -->', '<?pi x?>', '<?xml version="1.0"?>', '<?xml', '<?XML x?>',
  '<?', '?>', '<p:a>', '</p:a>', ' q:b="1"', ' xmlns:x=""', ' xmlns:p="urn:p"', ' xmlns=""', ' xmlns="http://www.w3.org/XML/1998/namespace"',
  ' xmlns:xml="urn:x"', ' xmlns:xmlns="urn:x"', '<xmlns:a/>', ' a:b:c="1"', ' :a="1"', '<![CDATA[', ']]>', '<![CDATA[x]]>', ']]', '\r', '\r\n',
  '\n', '\t', '\u0000', '\u0001', '\ufffe', '\uffff', 'é', '😀', '\u00a0', '\u2028', '\u0085', '\ufeff', '<', '>', '/>', '</', '"', "'", '=',
  ' ', '</a>', '<a>', '<a/>', '</stream:stream>', '<stream:stream>', ' a="1" a="2"', ' a="<"', " b='&lt;&gt;'", '</ >', '</>', '<1a>',
  '<é中/>', '<a\u0301/>', 'x'.repeat(300), ` n${'a'.repeat(2000)}="v"`, ` v="${'w'.repeat(3000)}"`, `<${'n'.repeat(3000)}/>`,
];

type Mutation = { kind: 'insert'; at: number; what: string } | { kind: 'flip'; at: number; byte: number } | { kind: 'cut'; at: number } | { kind: 'drop'; at: number; n: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), what: fc.constantFrom(...SNIPPETS) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }) },
);

/** Applies mutations to UTF-8 bytes (a flip may make them invalid UTF-8, which both must refuse alike). */
function mutateBytes(bytes: Buffer, ms: readonly Mutation[]): Buffer {
  let b = bytes;
  for (const m of ms) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(m.what, 'utf8'), b.subarray(at)]);
    else if (m.kind === 'flip' && at < b.length) (b = Buffer.from(b))[at] = m.byte;
    else if (m.kind === 'cut') b = b.subarray(0, at);
    else if (m.kind === 'drop') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]);
  }
  return b;
}

/** The same on a string (frames are strings): a flip replaces one UTF-16 unit, lone surrogates included. */
function mutateString(s: string, ms: readonly Mutation[]): string {
  for (const m of ms) {
    const at = s.length === 0 ? 0 : m.at % (s.length + 1);
    if (m.kind === 'insert') s = s.slice(0, at) + m.what + s.slice(at);
    else if (m.kind === 'flip' && at < s.length) s = s.slice(0, at) + String.fromCharCode(m.byte < 200 ? m.byte : 0xd800 + (m.byte - 200) * 36) + s.slice(at + 1);
    else if (m.kind === 'cut') s = s.slice(0, at);
    else if (m.kind === 'drop') s = s.slice(0, at) + s.slice(at + m.n);
  }
  return s;
}

const decoded = (b: Buffer) => new TextDecoder('utf-8').decode(b);
const limits = fc.oneof(
  { weight: 4, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.record({ maxStanzaBytes: fc.integer({ min: 100, max: 4000 }), maxDepth: fc.integer({ min: 1, max: 6 }), maxAttributes: fc.integer({ min: 1, max: 8 }) }) },
);
/** A client's stream: header, stanzas with white space between, sometimes the end; as bytes. */
const xmppStream = fc
  .tuple(fc.array(stanza, { maxLength: 4 }), fc.array(ws, { maxLength: 5 }), fc.boolean())
  .map(([stanzas, gaps, closed]) => {
    const text = streamOf(stanzas, gaps);
    return Buffer.from(closed ? text : text.slice(0, -FOOTER.length), 'utf8');
  });
const tokenStream = fc.array(xmlToken, { maxLength: 16 }).map((t) => Buffer.from(HEADER + t.join(''), 'utf8'));

fuzzTarget('xml-differential', (t) => {
  t.property('a stream, mutated, in random reads: ours and saxes give the same events and outcome', [
    fc.oneof(xmppStream, tokenStream),
    fc.array(mutation, { maxLength: 3 }),
    cuts(),
    limits,
  ], (clean, ms, at, lim) => {
    const bytes = mutateBytes(clean, ms);
    const reads = chunks(bytes, at);
    return agree(runStream(ours, reads, lim), runStream(saxes, reads, lim), decoded(bytes));
  }, { runs: 600, weight: 3 });

  t.property('the same stream byte by byte and in one read', [fc.oneof(xmppStream, tokenStream), fc.array(mutation, { maxLength: 2 })], (clean, ms) => {
    const bytes = mutateBytes(clean, ms);
    const text = decoded(bytes);
    const one = runStream(ours, [bytes], {});
    const bytewise = [...bytes].map((b) => Uint8Array.of(b));
    return agree(one, runStream(saxes, [bytes], {}), text) && agree(runStream(ours, bytewise, {}), runStream(saxes, bytewise, {}), text);
  }, { runs: 150 });

  t.property('a frame (RFC 7395), mutated: the same element or the same condition', [
    fc.oneof(stanza.map(String), fc.array(xmlToken, { minLength: 1, maxLength: 6 }).map((a) => a.join(''))),
    fc.array(mutation, { maxLength: 3 }),
    limits,
  ], (clean, ms, lim) => {
    const message = mutateString(clean, ms);
    return agree(runFrame(ours, message, lim), runFrame(saxes, message, lim), message);
  }, { runs: 600, weight: 2 });

  t.property('strings in random writes (a caller may write strings): the same as saxes', [
    fc.oneof(xmppStream, tokenStream).map(decoded),
    fc.array(mutation, { maxLength: 3 }),
    cuts(),
  ], (clean, ms, at) => {
    const text = mutateString(clean, ms);
    const points = [...new Set(at.map((c) => c % (text.length + 1)))].sort((x, y) => x - y);
    const reads = points.map((p, i) => text.slice(points[i - 1] ?? 0, p)).concat(text.slice(points[points.length - 1] ?? 0));
    return agree(runStream(ours, reads, {}), runStream(saxes, reads, {}), text);
  }, { runs: 300 });
});
