// Cutting text to a byte budget in UTF-8, never inside a character (nor a surrogate pair): for the line
// codec's length limit and the gateway frames' text limit.

/** `text` cut to at most `max` UTF-8 bytes, whole characters only. */
export function cutToUtf8Bytes(text: string, max: number): string {
  // Fast path: a JS string of n UTF-16 units is at most 3n UTF-8 bytes.
  if (text.length * 3 <= max || Buffer.byteLength(text, 'utf8') <= max) return text;
  let bytes = 0;
  let i = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + size > max) break;
    bytes += size;
    i += ch.length;
  }
  return text.slice(0, i);
}
