// Group commit: the messages of one loop turn share one commit, and what waits for durability (acks) runs only
// after it. Another connection to the same file shows what is on disk.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { databasePath } from '../../gateway/paths.js';
import { openStore } from '../../gateway/store/index.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';

const A = 'a'.repeat(64);
const ME = 'me@localhost';
const turn = () => new Promise<void>((r) => setImmediate(r));

const open: Array<{ close(): void }> = [];
afterEach(() => open.splice(0).forEach((s) => s.close()));
afterAll(() => removeTmpDirs());

function setup(opts?: Parameters<typeof openStore>[1]) {
  const dir = tmpDir('tlsim-group');
  const store = openStore(dir, opts);
  open.push(store);
  const acc = store.accounts.ensure(ME);
  store.contacts.upsert(acc, A);
  // What a crash right now would leave: read through a connection of its own.
  const disk = new Database(databasePath(dir), { readonly: true });
  open.push(disk);
  const onDisk = () => (disk.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
  const send = (text: string) => store.group.run(() => store.outbox.enqueue(acc, A, text), text.length);
  return { store, acc, onDisk, send };
}

describe('group commit', () => {
  it('writes of one loop turn are on disk together, at the end of the turn, and the acks wait for that', async () => {
    const { store, onDisk, send } = setup();
    const acked: string[] = [];
    for (const text of ['one', 'two', 'three']) {
      send(text);
      store.group.whenCommitted((err) => acked.push(err ? `lost ${text}` : text));
    }
    // Read back in the same turn (queue limits, repeat checks): the group's own writes are visible to it.
    expect(store.outbox.countFor(1, A)).toBe(3);
    expect(onDisk()).toBe(0);
    expect(acked).toEqual([]);
    await turn();
    expect(onDisk()).toBe(3);
    expect(acked).toEqual(['one', 'two', 'three']);
    expect(store.group.stats.commits).toBe(1);
    // Nothing open: an ack for what is already stored goes at once.
    let now = false;
    store.group.whenCommitted(() => (now = true));
    expect(now).toBe(true);
  });

  it('a write that fails is undone alone and reaches its caller; the others of the turn are kept', async () => {
    const { store, onDisk, send } = setup({ limits: { maxQueuedPerPeer: 3 } });
    send('one');
    send('two');
    // Its enqueue is undone with it: the queue limit still lets 'three' in.
    expect(() => store.group.run(() => { store.outbox.enqueue(1, A, 'undone'); throw new Error('no'); })).toThrow('no');
    send('three');
    expect(() => send('four')).toThrow(/already wait/);
    await turn();
    expect(onDisk()).toBe(3);
    expect(store.outbox.peek(1, A, 10).map((m) => m.text)).toEqual(['one', 'two', 'three']);
  });

  it('a flood in one turn commits in bounded groups', async () => {
    const { onDisk, send } = setup({ group: { maxWrites: 10 } });
    for (let i = 0; i < 10; i++) send(`m${i}`);
    // The bound commits right after this synchronous stretch, before the end of the turn.
    await Promise.resolve();
    expect(onDisk()).toBe(10);
    send('m10');
    expect(onDisk()).toBe(10);
    await turn();
    expect(onDisk()).toBe(11);
  });

  it('commitNow makes it durable at once (before a link ACK), and close() keeps what is open', () => {
    const { store, onDisk, send } = setup();
    send('before ack');
    store.group.commitNow();
    expect(onDisk()).toBe(1);
    send('at close');
    store.close();
    expect(onDisk()).toBe(2);
  });

  it('a commit that fails tells every waiter, and nothing of its group is on disk', async () => {
    const { store, onDisk, send } = setup();
    const db = (store as unknown as { group: { db: Database.Database } }).group.db;
    // A foreign key checked at COMMIT: a stand-in for a full disk at commit time.
    db.pragma('defer_foreign_keys = ON');
    send('kept?');
    store.group.run(() => db.prepare('INSERT INTO outbox (account_id, fingerprint, text, requests, queued_at) VALUES (1, ?, ?, 0, 0)').run('f'.repeat(64), 'x'));
    const told: Array<string | undefined> = [];
    store.group.whenCommitted((err) => told.push(err?.message));
    expect(() => store.group.commitNow()).toThrow(/FOREIGN KEY/);
    expect(told).toEqual([expect.stringMatching(/FOREIGN KEY/)]);
    expect(store.group.open).toBe(false);
    expect(onDisk()).toBe(0);
    // The next turn works again.
    send('next');
    await turn();
    expect(onDisk()).toBe(1);
  });
});
