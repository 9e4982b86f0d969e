// Fuzzing what a client sends to take a file in band (XEP-0095/0096 stream initiation with the file profile, XEP-0047
// IBB open, data, close; gateway/features/xep-0096-si-file-transfer.ts, support/si-ibb.ts): against an independent
// model of the XEPs' answers, every stanza of random scripts over several streams (offers of any size text, profile
// and methods, opens of any block-size and stanza, blocks in and out of sequence, of any length and base64 spelling,
// closes, all for known and unknown sids) gets exactly the result or error condition (and type) the model says, never
// internal-server-error; a well-formed transfer in any chunking stores exactly the bytes sent; limits are exact; one
// stream's trouble never touches another one or the session. One gateway and one session for the whole file.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import fc from 'fast-check';
import { afterAll } from 'vitest';
import type { AccountFiles, StoredFile } from '../../gateway/files/contract.js';
import { cleanFileName, type UploadStore } from '../../gateway/files/upload-store.js';
import { InBandError, sendInBand, streamMethods } from '../../gateway/features/support/si-ibb.js';
import type { SessionInfo } from '../../gateway/xmpp/hooks.js';
import { x, type Element } from '../../gateway/xmpp/xml/element.js';
import { testUploadStore } from '../support/upload-store.js';
import { startTestGateway, stanzaErrorOf, type TestClient, type TestGateway } from '../support/xmpp-harness.js';
import { fuzzTarget, LONG } from './support.js';
import { bytesOf, FT, IBB, LIMIT, Model, NEG, S5B, scripts, SI, sidOk, sidText, spell, type AnyOp, type DataOp, type Expect, type SidKind } from './si-ibb-model.js';

interface Env {
  gw: TestGateway;
  me: TestClient;
  files: UploadStore;
  /** The contact's full JID (a reference peer: a stored file becomes one line to it). */
  to: string;
  /** Files the feature stored, in order (taken from the store's IncomingUpload.end). */
  stored: StoredFile[];
}

let started: Promise<Env> | undefined;
const env = (): Promise<Env> => (started ??= start());
async function start(): Promise<Env> {
  // Quota: never the limit here (eight transfers of the largest file fit); it is the upload target's business.
  const files = await testUploadStore({ maxFileBytes: LIMIT.file, quotaBytes: (LIMIT.transfers + 1) * LIMIT.file * 4, expiryMs: 60_000 });
  const stored: StoredFile[] = [];
  const account = files.forAccount(1);
  const recording: AccountFiles = {
    ...account,
    receive: (name, size, type) => {
      const up = account.receive(name, size, type);
      return { ...up, end: async () => { const f = await up.end(); if (f) stored.push(f); return f; } };
    },
  };
  const gw = await startTestGateway({ server: { files: recording } });
  const rex = gw.fake!.addFakeContact({ name: 'Rex', online: true });
  const me = await gw.login();
  return { gw, me, files, to: `${rex.id}@${gw.peerDomain}/tlsim`, stored };
}
afterAll(async () => {
  const e = await started;
  await e?.gw.stop();
});

// ---- running a script --------------------------------------------------------------------------------------------

let inputs = 0;
let tmpDir: Promise<string> | undefined;

function payloadOf(op: AnyOp, sid: string | undefined, m: Model): { el: Element; expect: Expect } {
  const attrs = (a: Record<string, string | undefined>) => Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as Record<string, string>;
  switch (op.op) {
    case 'offer': {
      const values = op.asValue && op.methods.length === 1 ? op.methods.map((v) => x('value', null, v)) : op.methods.map((v) => x('option', null, x('value', null, v)));
      const field = x('field', { var: 'stream-method', type: 'list-single' }, ...values);
      const el = x(
        'si',
        attrs({ xmlns: SI, id: sid, profile: op.profile, 'mime-type': op.mime }),
        op.fileElement ? x('file', attrs({ xmlns: FT, name: op.name, size: op.size })) : undefined,
        x('feature', { xmlns: NEG }, x('x', { xmlns: 'jabber:x:data', type: 'form' }, field)),
      );
      return { el, expect: m.offer(op, sid) };
    }
    case 'open':
      return { el: x('open', attrs({ xmlns: IBB, sid, 'block-size': op.block, stanza: op.stanza })), expect: m.open(op, sid) };
    case 'data': {
      const s = sidOk(sid) ? m.streams.get(sid) : undefined;
      const next = s?.seq ?? 0;
      const named: Record<string, string> = { right: String(next), next: String((next + 1) % 65_536), prev: String((next + 65_535) % 65_536), '65536': '65536' };
      const seq = typeof op.seq === 'object' ? op.seq.text : named[op.seq as string];
      const bytes = bytesOf(op, s);
      const { text, means } = spell(bytes, op.spelling);
      return { el: x('data', attrs({ xmlns: IBB, sid, seq }), text), expect: m.data(sid, seq, means) };
    }
    case 'close':
      throw new Error('closes are run by closeStream');
  }
}

function answerMatches(reply: Element, expect: Expect): boolean {
  if (expect.ok) return reply.attrs.type === 'result';
  if (reply.attrs.type !== 'error' || stanzaErrorOf(reply) !== expect.condition) return false;
  const error = reply.getChild('error')!;
  if (expect.type && error.attrs.type !== expect.type) return false;
  return !expect.app || error.getChild(expect.app, SI) !== undefined;
}

function fail(what: string, reply: Element, expect: unknown): never {
  throw new Error(`${what}: expected ${JSON.stringify(expect)}, got ${reply.toString().slice(0, 600)}`);
}

async function closeStream(e: Env, m: Model, sid: string | undefined): Promise<void> {
  const before = e.stored.length;
  const { expect, whole, told } = m.close(sid);
  const reply = await e.me.iq(x('close', sid === undefined ? { xmlns: IBB } : { xmlns: IBB, sid }), { type: 'set', to: e.to });
  if (!answerMatches(reply, expect)) fail(`close ${sid}`, reply, expect);
  if (told) {
    // The user is told either way: a whole file goes to the contact (a reference peer gets one line), else it did not arrive whole.
    const msg = await e.me.next((el) => el.name === 'message' && el.attrs.from === e.gw.domain, 2000);
    const body = msg.getChildText('body') ?? '';
    if (!(whole ? /plain tlsim peer/ : /did not arrive whole/).test(body)) throw new Error(`close ${sid}: told ${JSON.stringify(body)}`);
  }
  const got = e.stored.slice(before);
  if (got.length !== (whole ? 1 : 0)) throw new Error(`close ${sid}: ${got.length} files stored, expected ${whole ? 1 : 0}`);
  if (whole) {
    const f = got[0]!;
    const rel = relative(e.files.dir, f.path);
    if (rel.startsWith('..') || isAbsolute(rel) || rel.includes('/')) throw new Error(`stored outside the upload directory: ${f.path}`);
    const onDisk = await readFile(f.path);
    if (!onDisk.equals(whole.bytes) || f.size !== whole.bytes.length) throw new Error(`close ${sid}: stored ${onDisk.length} bytes, sent ${whole.bytes.length}, not the same`);
    if (f.name !== cleanFileName(whole.name)) throw new Error(`stored as ${JSON.stringify(f.name)}, offered as ${JSON.stringify(whole.name)}`);
    await e.files.remove(f.token);
  }
}

/** Runs the script against the model, then closes every stream still open; the session answers a ping after it. */
async function run(ops: readonly AnyOp[]): Promise<void> {
  const e = await env();
  const m = new Model(`i${++inputs}`);
  try {
    await script(e, m, ops);
  } catch (failure) {
    // Whatever the gateway still holds of this input goes, so that shrinking starts from a clean gateway.
    const sids = [...Array.from({ length: LIMIT.transfers + 3 }, (_, n): SidKind => ({ kind: 'pool', n })), { kind: 'long', len: LIMIT.sid } as SidKind];
    for (const k of sids) {
      const closed = await e.me.iq(x('close', { xmlns: IBB, sid: sidText(k, m.prefix)! }), { type: 'set', to: e.to });
      // Each stream closed tells the user once: not left for the next input to read.
      if (closed.attrs.type === 'result') await e.me.next((el) => el.name === 'message' && el.attrs.from === e.gw.domain, 2000);
    }
    throw failure;
  } finally {
    e.me.received.length = 0; // what was checked is not kept for the whole run
  }
}

async function script(e: Env, m: Model, ops: readonly AnyOp[]): Promise<void> {
  for (const op of ops) {
    const sid = sidText(op.sid, m.prefix);
    if (op.op === 'close') {
      await closeStream(e, m, sid);
      continue;
    }
    const { el, expect } = payloadOf(op, sid, m);
    const to = op.op === 'offer' && op.stranger ? `${'0'.repeat(64)}@${e.gw.peerDomain}/tlsim` : e.to;
    const reply = await e.me.iq(el, { type: 'set', to });
    if (stanzaErrorOf(reply) === 'internal-server-error' || !answerMatches(reply, expect)) fail(`${op.op} ${JSON.stringify(op)}`, reply, expect);
  }
  for (const sid of [...m.streams.keys()]) await closeStream(e, m, sid);
  await e.me.sync();
}

/** A well-formed transfer: offer, open, the bytes in blocks of at most block-size, close. */
async function transfer(e: Env, sid: string, bytes: Buffer, block: number, cuts: readonly number[], wrapped: boolean): Promise<StoredFile | undefined> {
  const set = (el: Element) => e.me.iq(el, { type: 'set', to: e.to });
  const ok = (r: Element, what: string) => {
    if (r.attrs.type !== 'result') throw new Error(`${what}: ${r.toString().slice(0, 400)}`);
  };
  const offer = x('si', { xmlns: SI, id: sid, profile: FT }, x('file', { xmlns: FT, name: 'f.bin', size: String(bytes.length) }),
    x('feature', { xmlns: NEG }, x('x', { xmlns: 'jabber:x:data', type: 'form' }, x('field', { var: 'stream-method', type: 'list-single' }, x('option', null, x('value', null, IBB))))));
  ok(await set(offer), 'offer');
  ok(await set(x('open', { xmlns: IBB, sid, 'block-size': String(block), stanza: 'iq' })), 'open');
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  let seq = 0;
  for (const p of [...points, bytes.length]) {
    for (; from < p; seq = (seq + 1) % 65_536) {
      const piece = bytes.subarray(from, Math.min(p, from + block));
      from += piece.length;
      ok(await set(x('data', { xmlns: IBB, sid, seq: String(seq) }, spell(piece, wrapped ? 'wrapped' : 'canonical').text)), `block ${seq}`);
    }
  }
  const before = e.stored.length;
  ok(await set(x('close', { xmlns: IBB, sid })), 'close');
  await e.me.next((el) => el.name === 'message' && el.attrs.from === e.gw.domain, 2000);
  return e.stored[before];
}

fuzzTarget('si-ibb', (t) => {
  t.asyncProperty('any script over several streams gets exactly the answers of the model; whole files are stored exactly', [scripts], async (ops) => {
    await run(ops);
  }, { runs: 150, weight: 4 });

  t.asyncProperty('a well-formed transfer in any chunking stores exactly the bytes sent', [
    fc.uint8Array({ maxLength: LIMIT.file }),
    fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: LIMIT.file }), fc.constant(LIMIT.block)),
    fc.array(fc.nat(), { maxLength: 12 }),
    fc.boolean(),
  ], async (raw, block, cuts, wrapped) => {
    const e = await env();
    const bytes = Buffer.from(raw);
    fc.pre(Math.ceil(bytes.length / block) + cuts.length < 400);
    const sid = `w${++inputs}`;
    const f = await transfer(e, sid, bytes, block, cuts, wrapped).catch(async (failure: unknown) => {
      await e.me.iq(x('close', { xmlns: IBB, sid }), { type: 'set', to: e.to });
      throw failure;
    });
    if (!f) throw new Error('not stored');
    const same = (await readFile(f.path)).equals(bytes);
    await e.files.remove(f.token);
    e.me.received.length = 0;
    return same;
  }, { runs: 60 });

  // The sending half (xep-0096-si-file-offer.ts): what the client answers to our offer and to each of our iqs.
  t.property('an SI answer names IBB exactly when its stream-method field does, whatever else it holds', [
    fc.array(fc.record({ var: fc.constantFrom('stream-method', 'other', undefined), values: fc.array(fc.constantFrom(IBB, S5B, '', ' ' + IBB), { maxLength: 3 }), asOption: fc.boolean() }), { maxLength: 3 }),
    fc.constantFrom(NEG, NEG, NEG, 'urn:other'), fc.constantFrom('jabber:x:data', 'jabber:x:data', 'urn:other'),
  ], (fields, negNs, dataNs) => {
    const field = (f: (typeof fields)[number]) => x('field', f.var === undefined ? {} : { var: f.var }, ...f.values.map((v) => (f.asOption ? x('option', null, x('value', null, v)) : x('value', null, v))));
    const si = x('si', { xmlns: SI }, x('feature', { xmlns: negNs }, x('x', { xmlns: dataNs, type: 'submit' }, ...fields.map(field))));
    const methods = streamMethods(si);
    // The first stream-method field counts: its options' values, then its own first value (XEP-0020 §2).
    const first = fields.find((f) => f.var === 'stream-method');
    const want = negNs !== NEG || dataNs !== 'jabber:x:data' || !first ? [] : first.asOption ? first.values.filter((v) => v !== '') : first.values.slice(0, 1).filter((v) => v !== '');
    return JSON.stringify(methods) === JSON.stringify(want) && streamMethods(undefined).length === 0;
  });

  t.asyncProperty('sendInBand: open, the file in order in blocks of 4096 with seq from 0, each after the last one\'s result, close; any other answer stops it with InBandError', [
    fc.integer({ min: 0, max: 20_000 }),
    fc.array(fc.oneof({ weight: 12, arbitrary: fc.constant('result' as const) }, { weight: 1, arbitrary: fc.constantFrom('error' as const, 'timeout' as const, 'gone' as const) }), { maxLength: 8 }),
  ], async (size, answers) => {
    const dir = await (tmpDir ??= mkdtemp(join(tmpdir(), 'tlsim-ibb-send-')));
    const bytes = bytesOf({ op: 'data', sid: { kind: 'missing' }, seq: 'right', length: size, seed: size, spelling: 'canonical' } as DataOp, undefined);
    const path = join(dir, `f${size}`);
    await writeFile(path, bytes.subarray(0, size));
    const file = bytes.subarray(0, size);
    const sent: Element[] = [];
    let alive = true;
    let pending = 0;
    const ctx = {
      request: async (_s: SessionInfo, iq: Element): Promise<Element> => {
        if (pending++ > 0) throw new Error('a second iq before the first was answered');
        sent.push(iq);
        const a = answers[sent.length - 1] ?? 'result';
        await Promise.resolve();
        pending--;
        if (a === 'timeout') throw new Error('timed out');
        if (a === 'gone') alive = false;
        return a === 'error' ? x('iq', { type: 'error' }, x('error', { type: 'cancel' }, x('not-acceptable', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' }))) : x('iq', { type: 'result' });
      },
    };
    const outcome = await sendInBand({ ctx, session: {} as SessionInfo, from: 'c@peers/tlsim', sid: 's', file: { path, size }, timeoutMs: 1000, alive: () => alive })
      .then((n) => ({ ok: true as const, n }), (error: unknown) => ({ ok: false as const, error }));
    const kinds = sent.map((iq) => iq.elements()[0]!);
    if (kinds[0]?.name !== 'open' || kinds[0].attrs['block-size'] !== '4096' || kinds[0].attrs.stanza !== 'iq') return false;
    const blocks = kinds.slice(1).filter((k) => k.name === 'data');
    if (blocks.some((b, i) => b.attrs.seq !== String(i % 65_536) || b.attrs.sid !== 's')) return false;
    const data = Buffer.concat(blocks.map((b) => Buffer.from(b.text(), 'base64')));
    if (blocks.some((b) => Buffer.from(b.text(), 'base64').length > 4096) || !file.subarray(0, data.length).equals(data)) return false;
    // The first answer that is not a plain result: an error or a timeout stops the transfer there; 'gone' (a result,
    // then the session went away) stops it before the next iq, so only a close answered so completes it.
    const stop = answers.slice(0, sent.length).findIndex((a) => a !== 'result');
    const complete = stop < 0 || (answers[stop] === 'gone' && stop === sent.length - 1 && kinds.at(-1)!.name === 'close');
    if (complete) return outcome.ok && outcome.n === size && data.length === size && kinds.at(-1)!.name === 'close' && kinds.length === blocks.length + 2;
    return !outcome.ok && outcome.error instanceof InBandError && sent.length === stop + 1;
  }, { runs: 150 });

  // 65 536 blocks are a minute of a slow machine's time: the long run only (the model property sends "65536" as a seq).
  if (LONG) {
    t.asyncProperty('seq wraps from 65535 to 0 (and only then): the bytes around the wrap arrive in order', [fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.boolean()], async (tail, early) => {
      const e = await env();
      const sid = `wrap${++inputs}`;
      const set = (el: Element) => e.me.iq(el, { type: 'set', to: e.to });
      const offer = x('si', { xmlns: SI, id: sid, profile: FT }, x('file', { xmlns: FT, name: 'w', size: String(tail.length) }),
        x('feature', { xmlns: NEG }, x('x', { xmlns: 'jabber:x:data', type: 'form' }, x('field', { var: 'stream-method' }, x('value', null, IBB)))));
      if ((await set(offer)).attrs.type !== 'result' || (await set(x('open', { xmlns: IBB, sid, 'block-size': '64' }))).attrs.type !== 'result') return false;
      // Empty blocks up to 65535, then the bytes from seq 0 again; `early`: one wraps too soon and ends the stream.
      for (let seq = 0; seq < 65_536; seq++) {
        const r = await set(x('data', { xmlns: IBB, sid, seq: String(seq) }));
        if (r.attrs.type !== 'result') throw new Error(`block ${seq}: ${r.toString()}`);
        if (early && seq === 40_000) {
          const wrong = await set(x('data', { xmlns: IBB, sid, seq: '0' }));
          const closed = await set(x('close', { xmlns: IBB, sid }));
          return stanzaErrorOf(wrong) === 'unexpected-request' && stanzaErrorOf(closed) === 'item-not-found';
        }
      }
      const r = await set(x('data', { xmlns: IBB, sid, seq: '0' }, Buffer.from(tail).toString('base64')));
      if (r.attrs.type !== 'result') throw new Error(`block 0 after the wrap: ${r.toString()}`);
      const before = e.stored.length;
      await set(x('close', { xmlns: IBB, sid }));
      await e.me.next((el) => el.name === 'message' && el.attrs.from === e.gw.domain, 2000);
      const f = e.stored[before];
      const same = f !== undefined && (await readFile(f.path)).equals(Buffer.from(tail));
      if (f) await e.files.remove(f.token);
      e.me.received.length = 0;
      return same;
    }, { runs: 2, weight: 0 });
  }
}, { longInputs: 50_000 });
