// Fuzzing the compat line codec (bridge-protocol/wire/line-codec.ts; PROTOCOL.md "Application data: lines of
// text"): random bytes in random reads never throw, every message fits the limit and is XML-legal, a cut line is
// marked and nothing after it is lost; encodeMessage then LineDecoder gives the text back.
import fc from 'fast-check';
import { encodeMessage, LineDecoder, sanitizeForXml, type DecodedMessage } from '../../bridge-protocol/wire/line-codec.js';
import { chunks, cuts, fuzzTarget, tokenBytes } from './support.js';

const XML_ILLEGAL = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF\uD800-\uDFFF]/u;
const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const bytesOf = (s: string) => Buffer.byteLength(s, 'utf8');

function decodeAll(reads: Buffer[], limit: number): DecodedMessage[] {
  const d = new LineDecoder({ maxMessageBytes: limit });
  return [...reads.flatMap((r) => d.push(r)), ...d.end()];
}

/**
 * What the messages must say, line by line, whatever the reads: each input line (CRs removed, split at LF),
 * decoded and made XML-legal, cut (and marked) when it does not fit. Empty lines are left out on both sides:
 * whether an empty line shows depends on the message it falls in.
 */
function expectedLines(input: Buffer, limit: number): Array<{ text: string; truncated: boolean }> {
  const lines = Buffer.from(input.filter((b) => b !== 0x0d)).toString('latin1').split('\n');
  return lines
    .map((l) => Buffer.from(l, 'latin1'))
    .filter((l) => l.length > 0)
    .map((raw) => {
      const full = sanitizeForXml(utf8.decode(raw));
      return { text: full, truncated: raw.length > limit || bytesOf(full) > limit };
    });
}

function actualLines(messages: DecodedMessage[]): Array<{ text: string; truncated: boolean }> {
  return messages.flatMap((m): Array<{ text: string; truncated: boolean }> =>
    m.truncated ? [{ text: m.text, truncated: true }] : m.text.split('\n').filter((l) => l !== '').map((text) => ({ text, truncated: false })),
  );
}

const LINE_TOKENS = ['\n', '\r\n', '\r', 'a', 'hello', ' ', 'é', '😀', '\u0000', '\u001b[31m', '\ufeff', '\ufffe'];
const peerBytes = tokenBytes(LINE_TOKENS, { maxTokens: 60 });
const limitArb = fc.integer({ min: 4, max: 40 });

fuzzTarget('line-codec', (t) => {
  t.property('random bytes in any reads: no throw, each message within the limit, valid and XML-legal', [peerBytes, limitArb, cuts()], (input, limit, at) => {
    for (const m of decodeAll(chunks(input, at), limit)) {
      if (bytesOf(m.text) > limit || XML_ILLEGAL.test(m.text) || /^\n*$/.test(m.text)) return false;
    }
    return true;
  }, { runs: 2000 });

  t.property('every line arrives in order, a cut one marked as its head, nothing after a cut lost', [peerBytes, limitArb, cuts()], (input, limit, at) => {
    const want = expectedLines(input, limit);
    const got = actualLines(decodeAll(chunks(input, at), limit));
    if (got.length !== want.length) return false;
    return got.every((g, i) => {
      const w = want[i]!;
      if (g.truncated !== w.truncated) return false;
      // A cut line is a non-empty head of what the whole line would have shown.
      return w.truncated ? g.text.length > 0 && w.text.startsWith(g.text) : g.text === w.text;
    });
  }, { runs: 2000 });

  t.property('held bytes stay within the limit plus one read', [peerBytes, limitArb, cuts()], (input, limit, at) => {
    const d = new LineDecoder({ maxMessageBytes: limit });
    return chunks(input, at).every((r) => {
      d.push(r);
      return (d as unknown as { heldLength: number }).heldLength <= limit + r.length;
    });
  }, { runs: 1000, weight: 0.5 });

  const text = fc.string({ unit: fc.oneof(fc.constantFrom('\n', '\r', '\r\n', 'é', '😀', '\u0000'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 40 });
  t.property('encodeMessage then LineDecoder in one read gives the message back', [text], (message) => {
    const normalized = message.replace(/\r\n?/g, '\n').replace(/\n+$/, '');
    if (normalized === '') return fc.pre(false);
    const wire = encodeMessage(message);
    const back = decodeAll([wire], 64 * 1024);
    // Lone surrogates cannot be UTF-8: the encoder writes U+FFFD for them.
    const expect = sanitizeForXml(Buffer.from(normalized, 'utf8').toString('utf8'));
    return wire[wire.length - 1] === 0x0a && back.length === 1 && back[0]!.text === expect && !back[0]!.truncated;
  }, { runs: 2000 });

  t.property('encoded messages in any reads: the same lines, in order', [fc.array(text, { maxLength: 6 }), cuts()], (messages, at) => {
    const sendable = messages.filter((m) => m.replace(/[\r\n]/g, '') !== '');
    const wire = Buffer.concat(sendable.map((m) => encodeMessage(m)));
    const got = actualLines(decodeAll(chunks(wire, at), 64 * 1024)).map((l) => l.text);
    const want = sendable.flatMap((m) => sanitizeForXml(Buffer.from(m.replace(/\r\n?/g, '\n'), 'utf8').toString('utf8')).split('\n').filter((l) => l !== ''));
    return JSON.stringify(got) === JSON.stringify(want);
  }, { runs: 1000 });

  t.property('encodeMessage refuses what it cannot send, with its own errors only', [text, fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined })], (message, max) => {
    try {
      const wire = encodeMessage(message, { maxMessageBytes: max });
      return max === undefined || wire.length - 1 <= max;
    } catch (err) {
      const name = (err as Error).name;
      return (name === 'RangeError' && message.replace(/\r\n?/g, '\n').replace(/\n+$/, '') === '') || name === 'FrameTooLargeError';
    }
  }, { runs: 1000, weight: 0.5 });
});
