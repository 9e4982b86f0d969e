// A realistic, reproducible chat load: mostly 20–400 characters, some multi-line, a few 4 KiB
// pastes; some characters that need XML escaping and some non-ASCII. Each text starts with a
// marker "#m<seq># " so a receiver can find it again (also when the line protocol delivers
// several messages that arrived together as one, see PROTOCOL.md "Application data").
const WORDS = (
  'the a to of and in is it you that he was for on are with as I his they be at one have this from or had by ' +
  'hot word but what some we can out other were all there when up use your how said an each she which do their ' +
  'time if will way about many then them write would like so these her long make thing see him two has look more ' +
  'day could go come did number sound no most people my over know water than call first who may down side been now ' +
  'find café naïve über 東京 ok?! lol :) <3 & "quoted" it\'s R&D a<b'
).split(' ');

/** Mulberry32: a tiny seeded PRNG, so every run (and both systems) gets the same texts. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sentence(rand, chars) {
  let s = '';
  while (s.length < chars) s += (s ? ' ' : '') + WORDS[Math.floor(rand() * WORDS.length)];
  return s.slice(0, chars).trimEnd() || 'ok';
}

/** `n` message texts (without marker): 85% one line of 20–400 chars, 12% 2–5 lines, 3% a 4 KiB paste. */
export function messageMix(n, seed = 42) {
  const rand = rng(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.03) {
      const lines = [];
      let len = 0;
      while (len < 4096) {
        const l = sentence(rand, 60 + Math.floor(rand() * 60));
        lines.push(l);
        len += l.length + 1;
      }
      out.push(lines.join('\n').slice(0, 4096).trimEnd());
    } else if (r < 0.15) {
      const k = 2 + Math.floor(rand() * 4);
      out.push(Array.from({ length: k }, () => sentence(rand, 20 + Math.floor(rand() * 100))).join('\n'));
    } else {
      out.push(sentence(rand, 20 + Math.floor(rand() * 381)));
    }
  }
  return out;
}

export function mixStats(texts) {
  const bytes = texts.map((t) => Buffer.byteLength(t));
  const total = bytes.reduce((a, b) => a + b, 0);
  return { count: texts.length, meanBytes: Math.round(total / texts.length), maxBytes: Math.max(...bytes), multiLine: texts.filter((t) => t.includes('\n')).length };
}

export const marker = (seq) => `#m${seq}# `;
const MARK_RE = /(?:^|\n)#m(\d+)# /g;
/** Every marker in a received text (several when messages were grouped). */
export function markersIn(text) {
  const seqs = [];
  for (const m of text.matchAll(MARK_RE)) seqs.push(Number(m[1]));
  return seqs;
}
