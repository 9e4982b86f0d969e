// Character classes of XML 1.0 (Fifth Edition) for the tokenizer: Char (§2.2), S (§2.3), NameStartChar and
// NameChar (§2.3, production [4], [4a]). ASCII by table, the rest by the productions' ranges. Code points, not
// UTF-16 units: a supplementary character is read as its surrogate pair first.
import { StreamError } from '../errors.js';

const PREDEFINED: Record<string, string> = Object.assign(Object.create(null) as Record<string, string>, {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
});

/** 1: NameChar, 2: NameStartChar too, for code points below 0x80. */
const ASCII_NAME = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const start = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x3a;
  const rest = start || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e;
  ASCII_NAME[c] = start ? 3 : rest ? 1 : 0;
}

/** [4] NameStartChar, for any code point. */
export function isNameStartChar(c: number): boolean {
  if (c < 0x80) return (ASCII_NAME[c]! & 2) !== 0;
  return (
    (c >= 0xc0 && c <= 0xd6) ||
    (c >= 0xd8 && c <= 0xf6) ||
    (c >= 0xf8 && c <= 0x2ff) ||
    (c >= 0x370 && c <= 0x37d) ||
    (c >= 0x37f && c <= 0x1fff) ||
    c === 0x200c ||
    c === 0x200d ||
    (c >= 0x2070 && c <= 0x218f) ||
    (c >= 0x2c00 && c <= 0x2fef) ||
    (c >= 0x3001 && c <= 0xd7ff) ||
    (c >= 0xf900 && c <= 0xfdcf) ||
    (c >= 0xfdf0 && c <= 0xfffd) ||
    (c >= 0x10000 && c <= 0xeffff)
  );
}

/** [4a] NameChar, for any code point. */
export function isNameChar(c: number): boolean {
  if (c < 0x80) return ASCII_NAME[c]! !== 0;
  return c === 0xb7 || (c >= 0x300 && c <= 0x36f) || c === 0x203f || c === 0x2040 || isNameStartChar(c);
}

/** The ASCII name table, for the tokenizer's inner loops (0: not a name character). */
export const NAME_TABLE = ASCII_NAME;

/** [3] S: space, tab, LF, CR. */
export const isS = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;

/** [2] Char, for a code point (character references are checked with it). */
export function isChar(c: number): boolean {
  return c >= 0x20 ? c <= 0xd7ff || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff) : c === 0x09 || c === 0x0a || c === 0x0d;
}

export function disallowed(): StreamError {
  return new StreamError('not-well-formed', 'disallowed character');
}

/**
 * The code point at `i` of `s` (a surrogate pair read as one), throwing for what Char excludes: C0 controls
 * other than tab, LF and CR, U+FFFE, U+FFFF and lone surrogates. The caller has made sure a high surrogate is
 * never the last unit of `s` (it is held back until its pair arrives).
 */
export function codePointAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 0x20) {
    if (c === 0x09 || c === 0x0a || c === 0x0d) return c;
    throw disallowed();
  }
  if (c < 0xd800) return c;
  if (c <= 0xdbff) {
    const lo = s.charCodeAt(i + 1);
    if (lo >= 0xdc00 && lo <= 0xdfff) return 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
    throw disallowed();
  }
  if (c < 0xe000 || c > 0xfffd) throw disallowed();
  return c;
}

/** How many UTF-16 units the code point `c` takes. */
export const units = (c: number): number => (c > 0xffff ? 2 : 1);

/**
 * What `&name;` stands for: the five predefined entities (§4.6) and character references (§4.1 [66], a Char);
 * any other entity is restricted XML in XMPP (RFC 6120 §11.1).
 */
export function referenceValue(name: string): string {
  if (name[0] !== '#') {
    const predefined = PREDEFINED[name];
    if (predefined !== undefined) return predefined;
    throw new StreamError('restricted-xml', name === '' ? 'an empty entity reference' : 'entities other than the predefined five are not allowed in XMPP');
  }
  const code = name[1] === 'x' && /^#x[0-9a-f]+$/i.test(name) ? parseInt(name.slice(2), 16) : /^#[0-9]+$/.test(name) ? parseInt(name.slice(1), 10) : NaN;
  if (!isChar(code)) throw new StreamError('not-well-formed', 'malformed character reference');
  return String.fromCodePoint(code);
}
