// What a user sees of a peer's lines: grouping, CR LF, broken UTF-8, XML-illegal characters, limits, and what we send.
import { describe, expect, it } from 'vitest';
import { FrameTooLargeError } from '../../bridge-protocol/errors.js';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  LineDecoder,
  encodeMessage,
  sanitizeForXml,
  type DecodedMessage,
} from '../../bridge-protocol/wire/line-codec.js';

const b = (s: string | number[]): Buffer => (typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s));

/** Feeds chunks in order, then end of stream; returns every message. */
function feed(chunks: (string | number[] | Buffer)[], opts?: { maxMessageBytes?: number }): DecodedMessage[] {
  const d = new LineDecoder(opts);
  const out = chunks.flatMap((c) => d.push(Buffer.isBuffer(c) ? c : b(c)));
  return [...out, ...d.end()];
}
const texts = (ms: DecodedMessage[]): string[] => ms.map((m) => m.text);

describe('LineDecoder: grouping like the reference receiver', () => {
  it('joins text and its LF sent in separate writes (the libpurple sender does this)', () => {
    const d = new LineDecoder();
    expect(d.push(b('hello'))).toEqual([]);
    expect(d.push(b('\n'))).toEqual([{ text: 'hello', truncated: false }]);
  });

  it('keeps the lines of a multi-line message that arrive together as one message', () => {
    expect(texts(feed(['first line\nsecond line\n']))).toEqual(['first line\nsecond line']);
  });

  it('delivers lines typed one by one (gnutls-cli, openssl s_client) as separate messages', () => {
    expect(texts(feed(['hi\n', 'how are you?\n']))).toEqual(['hi', 'how are you?']);
  });

  it('shows a reference multi-line message (text with LFs, then a separate LF) as one message', () => {
    const d = new LineDecoder();
    expect(d.push(b('first line\nsecond line'))).toEqual([]);
    expect(d.push(b('\n'))).toEqual([{ text: 'first line\nsecond line', truncated: false }]);
  });

  it('keeps a message split across several chunks whole until its final LF', () => {
    expect(texts(feed(['one\ntw', 'o\nthr', 'ee', '\n']))).toEqual(['one\ntwo\nthree']);
  });

  it('removes only the final LF', () => {
    expect(texts(feed(['a\n\nb\n\n']))).toEqual(['a\n\nb\n']);
  });

  it('ignores a lone LF and LF-only chunks', () => {
    expect(feed(['\n', '\r\n', '\n\n'])).toEqual([]);
    expect(texts(feed(['\n', 'x\n', '\n']))).toEqual(['x']);
  });

  it('delivers a final line without LF at end of stream', () => {
    expect(texts(feed(['bye']))).toEqual(['bye']);
  });
});

describe('LineDecoder: line endings and characters', () => {
  it('turns CR LF into LF, also when CR and LF arrive in different chunks', () => {
    expect(texts(feed(['one\r\ntwo\r\n']))).toEqual(['one\ntwo']);
    expect(texts(feed(['typed\r', '\n']))).toEqual(['typed']);
  });

  it('drops a lone CR', () => {
    expect(texts(feed(['a\rb\n']))).toEqual(['ab']);
  });

  it('reassembles a multi-byte character split across chunks', () => {
    const bytes = b('héllo €𝄞\n');
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(texts(feed([bytes.subarray(0, cut), bytes.subarray(cut)]))).toEqual(['héllo €𝄞']);
    }
  });

  it('shows invalid UTF-8 as U+FFFD and keeps the rest', () => {
    expect(texts(feed([[0x61, 0xff, 0x62, 0xc3, 0x0a]]))).toEqual(['a\uFFFDb\uFFFD']);
  });

  it('replaces NUL and other controls XML cannot carry, keeping TAB and LF', () => {
    expect(texts(feed([[0x61, 0x00, 0x09, 0x62, 0x1b, 0x0a, 0x0c, 0x63, 0x0a]]))).toEqual([
      'a\uFFFD\tb\uFFFD\n\uFFFDc',
    ]);
    expect(texts(feed(['x\uFFFEy\uFFFF\n']))).toEqual(['x\uFFFDy\uFFFD']);
  });

  it('keeps a byte order mark as sent', () => {
    expect(texts(feed(['\uFEFFhi\n']))).toEqual(['\uFEFFhi']);
  });
});

describe('LineDecoder: limits', () => {
  it('cuts a 1 MB line to one truncated message and delivers the next line intact', () => {
    const d = new LineDecoder();
    const out: DecodedMessage[] = [];
    const piece = Buffer.alloc(4096, 0x61);
    for (let i = 0; i < 256; i++) out.push(...d.push(piece)); // 1 MiB in 4 KiB reads, like the reference
    out.push(...d.push(b('aaa\nnext message\n')));
    out.push(...d.end());
    expect(out).toHaveLength(2);
    expect(out[0]!.truncated).toBe(true);
    expect(Buffer.byteLength(out[0]!.text)).toBeLessThanOrEqual(DEFAULT_MAX_MESSAGE_BYTES);
    expect(out[0]!.text).toMatch(/^a+$/);
    expect(out[1]).toEqual({ text: 'next message', truncated: false });
  });

  it('cuts a 1 MB line that arrives in one chunk, and keeps what follows its LF', () => {
    const big = Buffer.concat([Buffer.alloc(1 << 20, 0x62), b('\nafter\n')]);
    const out = feed([big]);
    expect(out).toHaveLength(2);
    expect(out[0]!.truncated).toBe(true);
    expect(out[0]!.text.length).toBe(DEFAULT_MAX_MESSAGE_BYTES);
    expect(out[1]).toEqual({ text: 'after', truncated: false });
  });

  it('honours a configured limit and never splits a character at the cut', () => {
    const out = feed(['ab€€€€\nok\n'], { maxMessageBytes: 6 }); // "ab€" is 5 bytes; one more € would be 8
    expect(out).toEqual([
      { text: 'ab€', truncated: true },
      { text: 'ok', truncated: false },
    ]);
  });

  // Found by test/fuzz/line-codec: the cut looked at the byte after it, a stray continuation byte there
  // made it back into the emoji before, which then showed as U+FFFD.
  it('keeps a whole character before a stray continuation byte at the cut (bug: it became U+FFFD)', () => {
    const [m] = feed([[0x61, 0x62, 0x63, 0xf0, 0x9f, 0x98, 0x80, 0x80, 0x0a]], { maxMessageBytes: 7 });
    expect(m).toEqual({ text: 'abc\u{1F600}', truncated: true });
  });

  it('accepts a line of exactly the limit without truncating it', () => {
    const line = 'x'.repeat(16);
    expect(feed([line, '\n'], { maxMessageBytes: 16 })).toEqual([{ text: line, truncated: false }]);
  });

  it('delivers every line of a big chunk of many lines, each message within the limit', () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i}`);
    const out = feed([lines.join('\n') + '\n'], { maxMessageBytes: 1024 });
    expect(out.length).toBeGreaterThan(1);
    for (const m of out) {
      expect(m.truncated).toBe(false);
      expect(Buffer.byteLength(m.text)).toBeLessThanOrEqual(1024);
    }
    expect(out.flatMap((m) => m.text.split('\n'))).toEqual(lines);
  });

  it('delivers a long stream of lines as it comes even if no chunk ends at a line end', () => {
    const lines = Array.from({ length: 20000 }, (_, i) => `message number ${i}`);
    const stream = b(lines.join('\n') + '\n');
    const d = new LineDecoder({ maxMessageBytes: 4096 });
    const before: DecodedMessage[] = [];
    for (let at = 0; at < stream.length - 1; at += 1000) before.push(...d.push(stream.subarray(at, Math.min(at + 1000, stream.length - 1))));
    const after = d.push(b('\n'));
    // Nothing piles up: all but the last few KiB were delivered before the final LF came.
    expect(after).toHaveLength(1);
    expect(Buffer.byteLength(after[0]!.text)).toBeLessThanOrEqual(4096);
    const all = [...before, ...after];
    expect(all.flatMap((m) => m.text.split('\n'))).toEqual(lines);
    expect(all.every((m) => !m.truncated && Buffer.byteLength(m.text) <= 4096)).toBe(true);
  });

  it('keeps the limit when control characters grow into U+FFFD', () => {
    const out = feed([Buffer.concat([Buffer.alloc(10, 0x01), b('\n')])], { maxMessageBytes: 8 });
    expect(out).toEqual([{ text: '\uFFFD\uFFFD', truncated: true }]);
  });

  it('rejects a nonsensical limit', () => {
    expect(() => new LineDecoder({ maxMessageBytes: 0 })).toThrow(RangeError);
  });
});

describe('encodeMessage', () => {
  it('ends the message with one LF, in one buffer', () => {
    expect(encodeMessage('hello')).toEqual(b('hello\n'));
  });

  it('keeps a multi-line message in one piece, normalising CR LF and CR, stripping trailing LFs', () => {
    expect(encodeMessage('a\r\nb\rc\n\n').toString()).toBe('a\nb\nc\n');
  });

  it('refuses an empty message', () => {
    expect(() => encodeMessage('')).toThrow(RangeError);
    expect(() => encodeMessage('\r\n\n')).toThrow(RangeError);
  });

  it('refuses a message over a given limit with FrameTooLargeError', () => {
    expect(() => encodeMessage('x'.repeat(11), { maxMessageBytes: 10 })).toThrow(FrameTooLargeError);
    expect(encodeMessage('x'.repeat(10), { maxMessageBytes: 10 }).length).toBe(11);
  });

  it('round-trips through the decoder, also when the LF arrives separately', () => {
    for (const text of ['hi', 'two\nlines', 'ünïcødé 𝄞', 'tab\there']) {
      const wire = encodeMessage(text);
      expect(texts(feed([wire]))).toEqual([text]);
      expect(texts(feed([wire.subarray(0, -1), wire.subarray(-1)]))).toEqual([text]);
    }
  });
});

describe('sanitizeForXml', () => {
  it('replaces only what XML 1.0 cannot carry', () => {
    expect(sanitizeForXml('ok\t\n\r é 𝄞')).toBe('ok\t\n\r é 𝄞');
    expect(sanitizeForXml('\u0000\u0008\u000b\u001f\ufffe\uffff')).toBe('\uFFFD'.repeat(6));
    expect(sanitizeForXml('lone \ud800 and \udc00')).toBe('lone \uFFFD and \uFFFD');
  });
});
