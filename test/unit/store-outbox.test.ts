// The outgoing queue keeps what the user sent to an offline peer: in order, across restarts and kill -9, until written.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { StoreError, openStore, type Store } from '../../gateway/store/index.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';
import { killAll, spawnProc } from '../support/proc.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const ME = 'me@localhost';

const open: Store[] = [];
function openAt(dir: string, opts?: Parameters<typeof openStore>[1]): Store {
  const s = openStore(dir, opts);
  open.push(s);
  return s;
}
afterEach(() => open.splice(0).forEach((s) => s.close()));
afterAll(async () => {
  await killAll();
  removeTmpDirs();
});

function withContacts(dir = tmpDir('tlsim-outbox'), opts?: Parameters<typeof openStore>[1]) {
  const store = openAt(dir, opts);
  const acc = store.accounts.ensure(ME);
  store.contacts.upsert(acc, A);
  store.contacts.upsert(acc, B);
  return { dir, store, acc };
}

describe('outbox', () => {
  it('hands out each peer its messages in the order they were queued', () => {
    const { store, acc } = withContacts();
    store.outbox.enqueue(acc, A, 'a1', { xmppId: 'x1' });
    store.outbox.enqueue(acc, B, 'b1');
    store.outbox.enqueue(acc, A, 'a2');
    store.outbox.enqueue(acc, A, 'a3');
    expect(store.outbox.peek(acc, A, 10).map((m) => m.text)).toEqual(['a1', 'a2', 'a3']);
    expect(store.outbox.peek(acc, A)[0]).toMatchObject({ text: 'a1', xmppId: 'x1', fingerprint: A });
    expect(store.outbox.peek(acc, B, 10).map((m) => m.text)).toEqual(['b1']);
    expect(store.outbox.countFor(acc, A)).toBe(3);
  });

  it('forgets a message only when told it was written, and only that one', () => {
    const { store, acc } = withContacts();
    const [m1] = [store.outbox.enqueue(acc, A, 'one'), store.outbox.enqueue(acc, A, 'two')];
    expect(store.outbox.remove(acc, m1.seq)).toBe(true);
    expect(store.outbox.remove(acc, m1.seq)).toBe(false);
    expect(store.outbox.peek(acc, A, 10).map((m) => m.text)).toEqual(['two']);
  });

  it('keeps a message that was peeked but never confirmed written (a crash mid-send resends it)', () => {
    const { dir, store, acc } = withContacts();
    store.outbox.enqueue(acc, A, 'in flight');
    expect(store.outbox.peek(acc, A)).toHaveLength(1);
    store.close();
    const after = openAt(dir);
    expect(after.outbox.peek(after.accounts.ensure(ME), A).map((m) => m.text)).toEqual(['in flight']);
  });

  it('survives close and reopen with order and stamps intact', () => {
    let t = 0;
    const { dir, store, acc } = withContacts(undefined, { now: () => t });
    for (const [i, text] of ['first', 'second', 'third'].entries()) {
      t = 1_700_000_000_000 + i;
      store.outbox.enqueue(acc, A, text);
    }
    store.close();
    const again = openAt(dir);
    const items = again.outbox.peek(again.accounts.ensure(ME), A, 10);
    expect(items.map((m) => m.text)).toEqual(['first', 'second', 'third']);
    expect(items.map((m) => m.queuedAt.getTime())).toEqual([1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002]);
  });

  it('lists the peers with something waiting, the longest-waiting first', () => {
    const { store, acc } = withContacts();
    expect(store.outbox.fingerprintsWithPending(acc)).toEqual([]);
    store.outbox.enqueue(acc, B, 'b');
    store.outbox.enqueue(acc, A, 'a');
    store.outbox.enqueue(acc, B, 'b again');
    expect(store.outbox.fingerprintsWithPending(acc)).toEqual([B, A]);
  });

  it('refuses a message for a peer that is not a contact, an oversized one, and one past the cap', () => {
    const { store, acc } = withContacts(undefined, { limits: { maxTextBytes: 8, maxQueuedPerPeer: 2 } });
    const code = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (e) {
        if (e instanceof StoreError) return e.code;
        throw e;
      }
      return undefined;
    };
    expect(code(() => store.outbox.enqueue(acc, 'c'.repeat(64), 'hi'))).toBe('no-contact');
    expect(code(() => store.outbox.enqueue(acc, A, 'é'.repeat(5)))).toBe('too-large');
    expect(code(() => store.outbox.enqueue(acc, 'NOTHEX', 'hi'))).toBe('bad-fingerprint');
    store.outbox.enqueue(acc, A, '1');
    store.outbox.enqueue(acc, A, '2');
    expect(code(() => store.outbox.enqueue(acc, A, '3'))).toBe('queue-full');
    expect(store.outbox.countFor(acc, A)).toBe(2);
  });

  it('drops what was queued for a contact the user removed, so it never goes out later', () => {
    const { store, acc } = withContacts();
    store.outbox.enqueue(acc, A, 'never mind');
    store.contacts.remove(acc, A);
    expect(store.outbox.countFor(acc, A)).toBe(0);
    expect(store.outbox.fingerprintsWithPending(acc)).toEqual([]);
  });

  it('keeps a queued message when the gateway is killed with SIGKILL right after queueing it', async () => {
    const dir = tmpDir('tlsim-outbox-kill');
    // The child runs the real store code (TypeScript, through vite-node) and then waits to be killed.
    const script = join(dir, 'enqueue-then-wait.ts');
    const storeModule = resolve('gateway/store/index.ts');
    writeFileSync(
      script,
      [
        `import { openStore } from ${JSON.stringify(storeModule)};`,
        `const store = openStore(process.env.STORE_DIR!);`,
        `const acc = store.accounts.ensure(${JSON.stringify(ME)});`,
        `store.contacts.upsert(acc, ${JSON.stringify(A)});`,
        `const item = store.outbox.enqueue(acc, ${JSON.stringify(A)}, 'queued before kill -9', { xmppId: 'k1' });`,
        `console.log('queued ' + item.seq);`,
        `setInterval(() => {}, 60_000);`,
      ].join('\n'),
    );
    const viteNode = createRequire(import.meta.url).resolve('vite-node/vite-node.mjs');
    const proc = await spawnProc(process.execPath, [viteNode, script], { env: { STORE_DIR: dir }, stdin: 'ignore' });
    const line = await proc.waitFor(/queued \d+/, 20_000);
    expect(proc.signal('SIGKILL')).toBe(true);
    expect(await proc.exited).toEqual({ code: null, signal: 'SIGKILL' });

    const store = openAt(dir);
    const items = store.outbox.peek(store.accounts.ensure(ME), A, 10);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ text: 'queued before kill -9', xmppId: 'k1', seq: Number(line.split(' ')[1]) });
  });
});
