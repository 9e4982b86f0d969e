// What XML 1.0 can carry (XML 1.0 §2.2 "Char"): peers may send anything, XMPP stanzas may not.

// Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
// With the `u` flag a surrogate *pair* is one code point (allowed); only a lone surrogate
// matches the D800-DFFF range. C1 controls (0x7F-0x9F) are legal XML 1.0 and are kept.
const ILLEGAL_TEST = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF\uD800-\uDFFF]/u;
const ILLEGAL_ALL = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF\uD800-\uDFFF]/gu;

export const REPLACEMENT_CHARACTER = '\uFFFD';

/**
 * Replaces every character XML 1.0 cannot carry with U+FFFD, so a hostile or sloppy peer
 * cannot make us emit a stanza that kills the user's XMPP stream. TAB, LF and CR are legal
 * XML and kept (the line decoder has already removed every CR from peer text).
 */
export function sanitizeForXml(s: string): string {
  // Most text is clean: test first so the common case allocates nothing.
  return ILLEGAL_TEST.test(s) ? s.replace(ILLEGAL_ALL, REPLACEMENT_CHARACTER) : s;
}
