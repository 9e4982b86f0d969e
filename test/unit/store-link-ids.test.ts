// Schema v4 as the bridge uses it between gateways: the link id and requests a queued message goes out with, the
// archive finding a message by its link id (a marker days later), contacts remembered as gateways, markers waiting
// for a peer (bounded, in order, gone with the contact), and a database of v2 upgraded without losing its queue.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, openStore, type Store } from '../../gateway/store/index.js';
import { migrate } from '../../gateway/store/migrations.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

const open: Store[] = [];
function fresh(opts?: Parameters<typeof openStore>[1]): { store: Store; acc: number; dir: string } {
  const dir = tmpDir('tlsim-store');
  const store = openStore(dir, opts);
  open.push(store);
  const acc = store.accounts.ensure('me@localhost');
  store.contacts.upsert(acc, A);
  store.contacts.upsert(acc, B);
  return { store, acc, dir };
}
afterEach(() => open.splice(0).forEach((s) => s.close()));
afterAll(removeTmpDirs);

describe('schema v4: link ids, gateways, markers', () => {
  it('keeps the link id and requests of a queued message across a reopen', () => {
    const { store, acc, dir } = fresh();
    store.outbox.enqueue(acc, A, 'with requests', { xmppId: 'x1', linkId: 'L-1', receipt: true, markable: true });
    store.outbox.enqueue(acc, A, 'receipt only', { linkId: 'L-2', receipt: true });
    store.outbox.enqueue(acc, A, 'nothing asked');
    store.close();
    const again = openStore(dir);
    open.push(again);
    expect(again.outbox.peek(acc, A, 10).map(({ text, xmppId, linkId, receipt, markable }) => ({ text, xmppId, linkId, receipt, markable }))).toEqual([
      { text: 'with requests', xmppId: 'x1', linkId: 'L-1', receipt: true, markable: true },
      { text: 'receipt only', xmppId: undefined, linkId: 'L-2', receipt: true, markable: undefined },
      { text: 'nothing asked', xmppId: undefined, linkId: undefined, receipt: undefined, markable: undefined },
    ]);
  });

  it('finds an archived message by its link id, per peer and direction, however old', () => {
    let t = 1_000;
    const { store, acc } = fresh({ now: () => t });
    store.archive.append(acc, { fingerprint: A, direction: 'out', text: 'old one', xmppId: 'x-old', linkId: 'L-9' });
    t = 1_000 + 5 * 24 * 3600 * 1000;
    for (let i = 0; i < 100; i++) store.archive.append(acc, { fingerprint: A, direction: 'out', text: `later ${i}`, linkId: `L-${100 + i}` });
    store.archive.append(acc, { fingerprint: A, direction: 'in', text: 'theirs', linkId: 'L-9' });
    expect(store.archive.findByLinkId(acc, A, 'out', 'L-9')).toMatchObject({ text: 'old one', xmppId: 'x-old', stamp: new Date(1_000) });
    expect(store.archive.findByLinkId(acc, A, 'in', 'L-9')?.text).toBe('theirs');
    expect(store.archive.findByLinkId(acc, B, 'out', 'L-9')).toBeUndefined();
    expect(store.archive.findByLinkId(acc, A, 'out', 'nope')).toBeUndefined();
  });

  it('remembers whether a contact is a gateway', () => {
    const { store, acc, dir } = fresh();
    expect(store.contacts.get(acc, A)?.gateway).toBe(false);
    store.contacts.setGateway(acc, A, true);
    // An upsert (rename, new address) keeps it.
    store.contacts.upsert(acc, A, { name: 'Alice' });
    store.close();
    const again = openStore(dir);
    open.push(again);
    expect(again.contacts.get(acc, A)).toMatchObject({ name: 'Alice', gateway: true });
    expect(again.contacts.get(acc, B)?.gateway).toBe(false);
  });

  it('keeps markers per peer in order, at most maxMarkersPerPeer (the newest), and drops them with the contact', () => {
    const { store, acc } = fresh({ limits: { maxMarkersPerPeer: 3 } });
    for (let i = 1; i <= 5; i++) store.markers.enqueue(acc, A, i % 2 ? 'displayed' : 'receipt', `m${i}`);
    store.markers.enqueue(acc, B, 'acknowledged', 'b1');
    expect(store.markers.peek(acc, A).map((m) => `${m.marker} ${m.msgId}`)).toEqual(['displayed m3', 'receipt m4', 'displayed m5']);
    expect(store.markers.fingerprintsWithPending(acc).sort()).toEqual([A, B]);
    const [first] = store.markers.peek(acc, A, 1);
    expect(store.markers.remove(acc, first!.seq)).toBe(true);
    expect(store.markers.remove(acc, first!.seq)).toBe(false);
    expect(store.markers.peek(acc, A).map((m) => m.msgId)).toEqual(['m4', 'm5']);
    store.contacts.remove(acc, A);
    expect(store.markers.peek(acc, A)).toEqual([]);
    expect(store.markers.peek(acc, B).map((m) => m.msgId)).toEqual(['b1']);
    expect(() => store.markers.enqueue(acc, A, 'receipt', 'x')).toThrow(/not a contact/);
  });

  it('upgrades a v2 database: its queue and contacts stay, with no link ids and no gateway yet', () => {
    const dir = tmpDir('tlsim-store');
    const path = join(dir, 'gateway.db');
    const db = new Database(path);
    migrate(db, () => 1, MIGRATIONS.slice(0, 2));
    db.prepare("INSERT INTO accounts (id, jid, created_at) VALUES (1, 'me@localhost', 1)").run();
    db.prepare("INSERT INTO contacts (account_id, fingerprint, state, added_at) VALUES (1, ?, 'contact', 1)").run(A);
    db.prepare("INSERT INTO outbox (account_id, fingerprint, text, xmpp_id, queued_at) VALUES (1, ?, 'queued in v2', 'x', 1)").run(A);
    db.close();
    const store = openStore(dir);
    open.push(store);
    expect(store.schema).toEqual({ from: 2, to: MIGRATIONS.length });
    const [item] = store.outbox.peek(1, A);
    expect(item).toMatchObject({ text: 'queued in v2', xmppId: 'x' });
    expect(item!.linkId).toBeUndefined();
    expect(store.contacts.get(1, A)?.gateway).toBe(false);
  });
});
