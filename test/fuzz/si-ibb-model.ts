// The client's side and the model of the si-ibb fuzz target (si-ibb.fuzz.test.ts): the stanzas a client may send to
// take a file in band (XEP-0095/0096 offers, XEP-0047 open, data, close) as fast-check arbitraries, and an independent
// model of the answers the XEPs and the gateway's documented limits ask for.
import fc from 'fast-check';

export const SI = 'http://jabber.org/protocol/si';
export const FT = 'http://jabber.org/protocol/si/profile/file-transfer';
export const IBB = 'http://jabber.org/protocol/ibb';
export const S5B = 'http://jabber.org/protocol/bytestreams';
export const NEG = 'http://jabber.org/protocol/feature-neg';

/**
 * The gateway's limits (xep-0096-si-file-transfer.ts), restated: the model must not read them from the code. `file`
 * is files.max_file_mb of the test store: small, so that boundaries are reached often.
 */
export const LIMIT = { transfers: 8, block: 65_535, sid: 128, file: 3000 } as const;

// ---- what the client sends ---------------------------------------------------------------------------------------

export type SidKind = { kind: 'pool'; n: number } | { kind: 'missing' } | { kind: 'empty' } | { kind: 'long'; len: number };
const sidKind: fc.Arbitrary<SidKind> = fc.oneof(
  { weight: 12, arbitrary: fc.nat({ max: LIMIT.transfers + 2 }).map((n) => ({ kind: 'pool' as const, n })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'missing' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const }) },
  { weight: 1, arbitrary: fc.constantFrom(LIMIT.sid, LIMIT.sid + 1).map((len) => ({ kind: 'long' as const, len })) },
);

/** Decimal text as clients write it, and as they should not (the model decides which is which). */
const numberText = (valid: fc.Arbitrary<number>): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    { weight: 10, arbitrary: valid.map(String) },
    { weight: 1, arbitrary: valid.map((n) => `0${n}`) },
    { weight: 3, arbitrary: fc.constantFrom(undefined, '', ' ', '-1', '-0', '+1', ' 1', '1 ', '1.0', '1e2', '0x10', 'NaN', 'Infinity', '١', '9'.repeat(20)) },
  );

const offerOp = fc.record({
  op: fc.constant('offer' as const),
  sid: sidKind,
  size: numberText(fc.oneof(fc.nat({ max: 40 }), fc.constantFrom(LIMIT.file, LIMIT.file + 1), fc.nat({ max: LIMIT.file + 5 }))),
  profile: fc.constantFrom(FT, FT, FT, FT, undefined, `${FT}x`),
  fileElement: fc.constantFrom(true, true, true, true, false),
  methods: fc.oneof({ weight: 4, arbitrary: fc.constant<string[]>([IBB]) }, { weight: 2, arbitrary: fc.subarray<string>([S5B, IBB, 'jabber:iq:oob', '']) }),
  /** libpurple writes the methods as <option>s; a client with one method may write it as the field's one <value>. */
  asValue: fc.boolean(),
  name: fc.option(fc.oneof(fc.constantFrom('a.txt', '../../etc/passwd', '..', '.', 'C:\\x\\y.txt', ' ', '/'), fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 300 })), { nil: undefined }),
  mime: fc.option(fc.constantFrom('text/plain', 'image/png; q=1', 'x', ''), { nil: undefined }),
  stranger: fc.constantFrom(false, false, false, false, false, false, false, false, false, true),
});
const openOp = fc.record({
  op: fc.constant('open' as const),
  sid: sidKind,
  block: numberText(fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 4096 }), fc.constantFrom(0, LIMIT.block, LIMIT.block + 1))),
  stanza: fc.constantFrom(undefined, undefined, 'iq', 'iq', 'message', 'IQ'),
});
type Spelling = 'canonical' | 'wrapped' | 'unpadded' | 'junk' | 'bad-tail' | 'empty-text';
const dataOp = fc.record({
  op: fc.constant('data' as const),
  sid: sidKind,
  /** 'right' is the model's next seq; the others are wrong or mis-spelled. */
  seq: fc.oneof(
    { weight: 12, arbitrary: fc.constant('right' as const) },
    { weight: 2, arbitrary: fc.constantFrom('next' as const, 'prev' as const, '65536' as const) },
    { weight: 2, arbitrary: numberText(fc.constant(0)).map((t) => ({ text: t })) },
  ),
  /** How many bytes: random, exactly the block, one more, what is left of the size, one more, a part of what fits. */
  length: fc.oneof({ weight: 2, arbitrary: fc.nat({ max: 64 }) }, { weight: 1, arbitrary: fc.constantFrom('block', 'block+1', 'rest', 'rest+1') }, { weight: 3, arbitrary: fc.constant('part') }),
  seed: fc.nat(),
  spelling: fc.oneof({ weight: 10, arbitrary: fc.constant<Spelling>('canonical') }, { weight: 3, arbitrary: fc.constantFrom<Spelling>('wrapped', 'unpadded', 'junk', 'bad-tail', 'empty-text') }),
});
const closeOp = fc.record({ op: fc.constant('close' as const), sid: sidKind });
type Op = typeof offerOp extends fc.Arbitrary<infer T> ? T : never;
type OpenOp = typeof openOp extends fc.Arbitrary<infer T> ? T : never;
export type DataOp = typeof dataOp extends fc.Arbitrary<infer T> ? T : never;
type CloseOp = typeof closeOp extends fc.Arbitrary<infer T> ? T : never;
export type AnyOp = Op | OpenOp | DataOp | CloseOp;
const noise = fc.oneof({ weight: 2, arbitrary: offerOp }, { weight: 2, arbitrary: openOp }, { weight: 6, arbitrary: dataOp }, { weight: 1, arbitrary: closeOp });

/**
 * One stream's life as a client lives it, now and then broken: an offer, an open, blocks, maybe a close (each op
 * mostly well-formed, sometimes any op of its kind). Random ops alone seldom get past the offer.
 */
const story = (n: number): fc.Arbitrary<AnyOp[]> => {
  const sid = { kind: 'pool' as const, n };
  const mostly = (good: fc.Arbitrary<AnyOp>, any: fc.Arbitrary<AnyOp>): fc.Arbitrary<AnyOp> => fc.oneof({ weight: 9, arbitrary: good }, { weight: 1, arbitrary: any });
  const offer = mostly(
    offerOp.map((o): Op => ({ ...o, sid, profile: FT, fileElement: true, methods: o.methods.includes(IBB) ? o.methods : [...o.methods, IBB], stranger: false })).chain((o) =>
      fc.oneof(fc.nat({ max: 48 }), fc.constantFrom(0, LIMIT.file), fc.nat({ max: LIMIT.file })).map((size) => ({ ...o, size: String(size) }))),
    offerOp.map((o) => ({ ...o, sid })),
  );
  const open = mostly(
    fc.record({
      op: fc.constant('open' as const),
      sid: fc.constant(sid),
      block: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 4096 }), fc.constant(LIMIT.block)).map(String),
      stanza: fc.constantFrom(undefined, 'iq'),
    }),
    openOp.map((o) => ({ ...o, sid })),
  );
  const data = mostly(
    dataOp.map((d): DataOp => ({ ...d, sid, seq: 'right', spelling: 'canonical' })),
    dataOp.map((d) => ({ ...d, sid })),
  );
  const close = fc.option(fc.constant({ op: 'close' as const, sid }), { nil: undefined });
  return fc.tuple(offer, open, fc.array(data, { maxLength: 6 }), close).map(([o, p, ds, c]) => [o, p, ...ds, ...(c ? [c] : [])]);
};

/** Up to three streams' lives (now and then ten, past the limit of open transfers), interleaved, with random ops among them. */
export const scripts: fc.Arbitrary<AnyOp[]> = fc
  .tuple(
    fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.constant(LIMIT.transfers + 2) }).chain((k) => fc.tuple(...Array.from({ length: k }, (_, n) => story(n)))),
    fc.array(noise, { maxLength: 6 }),
    fc.array(fc.nat(), { minLength: 80, maxLength: 80 }),
  )
  .map(([stories, extra, order]) => {
    const queues = [...stories, extra].map((q) => [...q]);
    const out: AnyOp[] = [];
    for (let i = 0; queues.some((q) => q.length > 0); i++) {
      const live = queues.filter((q) => q.length > 0);
      out.push(live[(order[i % order.length] ?? 0) % live.length]!.shift()!);
    }
    return out;
  });

// ---- the model (XEP-0095 §3, XEP-0096 §2, XEP-0047 §2; the gateway's documented limits) ------------------------

interface Stream {
  name: string;
  size: number;
  /** undefined until opened. */
  block: number | undefined;
  seq: number;
  bytes: Buffer[];
}
export type Expect = { ok: true } | { ok: false; condition: string; type?: string; app?: string };
const err = (condition: string, type?: string, app?: string): Expect => ({ ok: false, condition, ...(type && { type }), ...(app && { app }) });
const DECIMAL = /^[0-9]{1,15}$/;

/** The sid as sent (undefined: no attribute), unique to this input. */
export function sidText(k: SidKind, prefix: string): string | undefined {
  switch (k.kind) {
    case 'pool':
      return `${prefix}-${k.n}`;
    case 'missing':
      return undefined;
    case 'empty':
      return '';
    case 'long':
      return `${prefix}-`.padEnd(k.len, 'x');
  }
}
export const sidOk = (sid: string | undefined): sid is string => sid !== undefined && sid !== '' && sid.length <= LIMIT.sid;

export function bytesOf(op: DataOp, s: Stream | undefined): Buffer {
  const left = s ? s.size - s.bytes.reduce((n, b) => n + b.length, 0) : 0;
  const block = s?.block ?? 1;
  const part = Math.floor((Math.min(block, Math.max(0, left)) * (op.seed % 101)) / 100);
  const n = typeof op.length === 'number' ? op.length : { block, 'block+1': block + 1, rest: Math.max(0, left), 'rest+1': Math.max(0, left) + 1, part }[op.length];
  const out = Buffer.alloc(Math.min(n, LIMIT.block + 1));
  for (let i = 0, v = op.seed; i < out.length; i++) out[i] = v = (v * 1103515245 + 12345) >>> 8;
  return out;
}

/**
 * The base64 text of `bytes` in one spelling, and the bytes RFC 4648 §4 reads from it (padding required; XEP-0047's own
 * example wraps lines), undefined when it is not base64.
 */
export function spell(bytes: Buffer, how: Spelling): { text: string; means: Buffer | undefined } {
  const { text, valid } = spelling(bytes, how);
  return { text, means: how === 'empty-text' ? Buffer.alloc(0) : valid ? bytes : undefined };
}
export function spelling(bytes: Buffer, how: Spelling): { text: string; valid: boolean } {
  const b64 = bytes.toString('base64');
  switch (how) {
    case 'canonical':
      return { text: b64, valid: true };
    case 'wrapped':
      return { text: `\n ${b64.replace(/.{1,8}/g, '$&\r\n\t')}`, valid: true };
    case 'unpadded':
      return { text: b64.replace(/=+$/, ''), valid: !b64.endsWith('=') };
    case 'junk':
      return { text: `${b64.slice(0, 4)}*${b64.slice(4)}`, valid: false };
    case 'bad-tail':
      // One more character (a lone sextet) or a padding where none goes: never a whole base64 block.
      return { text: b64.endsWith('=') ? `${b64}=` : `${b64}A`, valid: false };
    case 'empty-text':
      return { text: '', valid: true };
  }
}

export class Model {
  readonly streams = new Map<string, Stream>();
  constructor(readonly prefix: string) {}

  offer(op: Op, sid: string | undefined): Expect {
    if (op.stranger) return err('item-not-found');
    if (op.profile !== FT || !op.fileElement) return err('bad-request', 'modify', 'bad-profile');
    if (!op.methods.includes(IBB)) return err('bad-request', 'cancel', 'no-valid-streams');
    if (op.size === undefined || !DECIMAL.test(op.size)) return err('bad-request');
    const size = Number(op.size);
    if (size > LIMIT.file) return err('not-acceptable');
    if (this.streams.size >= LIMIT.transfers) return err('resource-constraint');
    if (!sidOk(sid)) return err('bad-request');
    if (this.streams.has(sid)) return err('conflict');
    this.streams.set(sid, { name: op.name ?? 'file', size, block: undefined, seq: 0, bytes: [] });
    return { ok: true };
  }

  open(op: OpenOp, sid: string | undefined): Expect {
    if (!sidOk(sid)) return err('bad-request');
    const s = this.streams.get(sid);
    if (!s) return err('item-not-found', 'cancel');
    if (op.block === undefined || !DECIMAL.test(op.block) || Number(op.block) < 1) return err('bad-request');
    if (Number(op.block) > LIMIT.block) return err('resource-constraint');
    if ((op.stanza ?? 'iq') !== 'iq') return err('feature-not-implemented', 'cancel');
    if (s.block !== undefined) return err('unexpected-request');
    s.block = Number(op.block);
    return { ok: true };
  }

  /** A data error ends the stream (XEP-0047 §2.2: the sender MUST close it), so its type is cancel. */
  data(sid: string | undefined, seq: string | undefined, bytes: Buffer | undefined): Expect {
    if (!sidOk(sid)) return err('bad-request');
    const s = this.streams.get(sid);
    if (!s) return err('item-not-found', 'cancel');
    if (s.block === undefined) return err('unexpected-request');
    const ends = (e: Expect): Expect => (this.streams.delete(sid), e);
    if (seq === undefined || !/^[0-9]{1,5}$/.test(seq) || Number(seq) > 65_535) return ends(err('bad-request', 'cancel'));
    if (Number(seq) !== s.seq) return ends(err('unexpected-request', 'cancel'));
    if (!bytes) return ends(err('bad-request', 'cancel'));
    if (bytes.length > s.block) return ends(err('unexpected-request', 'cancel'));
    if (s.bytes.reduce((n, b) => n + b.length, 0) + bytes.length > s.size) return ends(err('not-acceptable', 'cancel'));
    s.seq = (s.seq + 1) % 65_536;
    s.bytes.push(bytes);
    return { ok: true };
  }

  /** The result, and the stream's bytes when they are the whole file (stored and told to the contact). */
  close(sid: string | undefined): { expect: Expect; whole?: { name: string; bytes: Buffer }; told: boolean } {
    if (!sidOk(sid)) return { expect: err('bad-request'), told: false };
    const s = this.streams.get(sid);
    if (!s) return { expect: err('item-not-found', 'cancel'), told: false };
    this.streams.delete(sid);
    const bytes = Buffer.concat(s.bytes);
    const whole = s.block !== undefined && bytes.length === s.size ? { name: s.name, bytes } : undefined;
    return { expect: { ok: true }, ...(whole && { whole }), told: true };
  }
}
