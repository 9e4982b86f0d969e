// libpurple markup (what Pidgin/bitlbee users of the reference FIFO plugin send) → the plain text XMPP carries.
// Not an HTML parser on purpose: peers typing into openssl or gnutls-cli send plain text that may contain
// "<" and "&" ("a < b", "x&y", "<3"), so only tags libpurple writes, balanced, and well-formed entities are
// converted; everything else stays exactly as typed. We send plain text back without escaping.

/** Formatting tags libpurple's IM markup uses; they are removed when balanced. */
const INLINE = new Set([
  'b', 'i', 'u', 's', 'strike', 'em', 'strong', 'font', 'span', 'sub', 'sup', 'big', 'small', 'tt', 'code',
  'del', 'ins', 'html', 'body', 'pre', 'blockquote',
]);
/** Paragraph-like tags: a line break separates them from what surrounds them. */
const BLOCK = new Set(['p', 'div']);
/** Tags without content; converted wherever they appear. */
const VOID = new Set(['br', 'hr', 'img']);

// libpurple's purple_markup_unescape_entity() knows exactly these names (plus numeric references).
const ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  // libpurple writes &nbsp; to keep runs of spaces; a plain space is what the user typed.
  nbsp: ' ',
  copy: '©',
  reg: '®',
};

type Token =
  | { kind: 'text'; text: string }
  | { kind: 'tag'; raw: string; name: string; close: boolean; selfClosing: boolean; attrs: Map<string, string> };

const TAG =
  /<(\/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*(\/?)>/y;
const ATTR = /([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
const ENTITY = /&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});/g;

/** Converts libpurple markup to plain text; text that is not markup comes back unchanged. */
export function libpurpleToPlain(text: string): string {
  const tokens = tokenize(text);
  const matched = matchTags(tokens);
  return render(tokens, matched);
}

/** True when the text holds markup or entities that libpurpleToPlain() would convert. */
export function looksLikeMarkup(text: string): boolean {
  return (text.includes('<') || text.includes('&')) && libpurpleToPlain(text) !== text;
}

export function decodeEntities(text: string): string {
  return text.replace(ENTITY, (whole, body: string) => {
    if (body.startsWith('#')) {
      const hex = body[1] === 'x' || body[1] === 'X';
      const cp = parseInt(body.slice(hex ? 2 : 1), hex ? 16 : 10);
      const valid = cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
      return valid ? String.fromCodePoint(cp) : whole;
    }
    return ENTITIES[body] ?? whole;
  });
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let textStart = 0;
  let i = text.indexOf('<');
  while (i >= 0) {
    TAG.lastIndex = i;
    const m = TAG.exec(text);
    const name = m?.[2]?.toLowerCase() ?? '';
    const known = INLINE.has(name) || BLOCK.has(name) || VOID.has(name) || name === 'a';
    // A closing tag carries no attributes: "</b x>" is not one.
    if (m && known && !(m[1] && (m[3] || m[4]))) {
      if (i > textStart) tokens.push({ kind: 'text', text: text.slice(textStart, i) });
      tokens.push({
        kind: 'tag',
        raw: m[0],
        name,
        close: m[1] === '/',
        selfClosing: m[4] === '/',
        attrs: parseAttrs(m[3] ?? ''),
      });
      textStart = i + m[0].length;
      i = text.indexOf('<', textStart);
    } else {
      i = text.indexOf('<', i + 1);
    }
  }
  if (textStart < text.length) tokens.push({ kind: 'text', text: text.slice(textStart) });
  return tokens;
}

function parseAttrs(s: string): Map<string, string> {
  const attrs = new Map<string, string>();
  for (const m of s.matchAll(ATTR)) {
    attrs.set(m[1]!.toLowerCase(), decodeEntities(m[2] ?? m[3] ?? m[4] ?? ''));
  }
  return attrs;
}

/**
 * Indexes of tag tokens that are markup: void tags always, paired tags only with their partner.
 * libpurple always balances what it writes, so a lone "<b>" is someone typing about HTML.
 */
function matchTags(tokens: Token[]): Set<number> {
  const matched = new Set<number>();
  const open = new Map<string, number[]>();
  tokens.forEach((t, idx) => {
    if (t.kind !== 'tag') return;
    if (VOID.has(t.name) || t.selfClosing) {
      if (!t.close) matched.add(idx);
      return;
    }
    const stack = open.get(t.name) ?? [];
    open.set(t.name, stack);
    if (!t.close) {
      stack.push(idx);
    } else if (stack.length > 0) {
      matched.add(stack.pop()!);
      matched.add(idx);
    }
  });
  return matched;
}

function render(tokens: Token[], matched: Set<number>): string {
  let out = '';
  let blockBreak = false;
  const anchors: { href: string; start: number }[] = [];
  const flushBreak = (): void => {
    if (blockBreak && out !== '' && !out.endsWith('\n')) out += '\n';
    blockBreak = false;
  };
  const emit = (s: string): void => {
    if (s === '') return;
    flushBreak();
    out += s;
  };
  tokens.forEach((t, idx) => {
    if (t.kind === 'text') return emit(decodeEntities(t.text));
    if (!matched.has(idx)) return emit(t.raw);
    if (t.name === 'br' || t.name === 'hr') return emit('\n');
    if (t.name === 'img') return emit(t.attrs.get('alt') || '[image]');
    if (BLOCK.has(t.name)) {
      blockBreak = true;
      return;
    }
    if (t.name === 'a' && !t.selfClosing) {
      if (!t.close) {
        flushBreak();
        anchors.push({ href: t.attrs.get('href') ?? '', start: out.length });
      } else {
        const a = anchors.pop();
        if (a) out = out.slice(0, a.start) + linkText(out.slice(a.start), a.href);
      }
    }
  });
  return out;
}

/** "t (u)", or just one of them when the other adds nothing (Pidgin auto-links "www.x.org" to "http://www.x.org"). */
function linkText(inner: string, href: string): string {
  const url = href.trim();
  if (url === '') return inner;
  if (inner.trim() === '') return url;
  const t = inner.trim();
  if ([t, `http://${t}`, `https://${t}`, `mailto:${t}`].includes(url)) return inner;
  return `${inner} (${url})`;
}
