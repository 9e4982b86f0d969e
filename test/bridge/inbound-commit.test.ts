// Crash safety of the receiving gateway (issue 16 §2): a gateway peer's message is archived and kept for an
// offline client (a Pidgin-like client, no MAM) in ONE commit, and only that commit lets the link acknowledge it.
// A store that fails (disk full) rolls both back and leaves the message unacknowledged: the sending gateway
// keeps it and sends it again, and it is shown once. Accepting a request hands out its held messages the same way.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity, type Identity } from '../../bridge-protocol/index.js';
import type { IncomingText, PeerId } from '../../gateway/bridge/contract.js';
import type { Store } from '../../gateway/store/index.js';
import { removeTmpDirs } from '../support/identities.js';
import { RecordingSink } from '../support/recording-sink.js';
import { stopTlsimGateways, tlsimGateway, type TlsimGateway } from '../support/tlsim-gateways.js';

/** What the XMPP side does for a user with no session: keeps the message (offline-box.ts), in the store. */
class OfflineUserSink extends RecordingSink {
  store: Store | undefined;
  accountId = 0;
  /** The next this many messages fail as a full disk fails them (better-sqlite3's SqliteError carries the code). */
  failures = 0;
  override onText(from: PeerId, m: IncomingText): void {
    this.store!.undelivered.keep(this.accountId, `<message><body>${m.text}</body></message>`, 500);
    if (this.failures > 0) {
      this.failures--;
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    }
    super.onText(from, m);
  }
}

async function offlineUser(identity: Identity, policy: 'accept' | 'ask'): Promise<TlsimGateway<OfflineUserSink>> {
  const sink = new OfflineUserSink();
  const gw = await tlsimGateway(identity, { policy, sink });
  sink.store = gw.store;
  sink.accountId = gw.accountId;
  return gw;
}

const archived = (gw: TlsimGateway<RecordingSink>): number => gw.store.archive.countSince(gw.accountId, 0).in;

let alice: Identity;
let bob: Identity;
beforeAll(async () => {
  [alice, bob] = await Promise.all([generateIdentity(), generateIdentity()]);
});
afterEach(() => stopTlsimGateways());
afterAll(() => removeTmpDirs());

describe('receiving gateway: archive, offline copy and acknowledgement', () => {
  it('a message whose offline copy cannot be written is neither archived nor acknowledged; sent again, it is kept once', async () => {
    const a = await tlsimGateway(alice);
    const b = await offlineUser(bob, 'accept');
    b.sink.failures = 2;
    await a.net.addContact(bob.fingerprint, { address: `127.0.0.1:${b.port}` });
    await a.sink.until(() => a.sink.online.has(bob.fingerprint), 'alice sees bob online');
    await a.net.sendText(bob.fingerprint, 'hello bob');
    // Two links die unacknowledged (the archive entry and the offline copy rolled back together); the third keeps it.
    await b.sink.until(() => b.sink.texts.length === 1, 'bob gets it on a later link', 20_000);
    await a.sink.until(() => a.net.selfInfo().queued === 0, "alice's queue empties once bob acknowledged it");
    expect(b.sink.failures).toBe(0);
    expect(b.sink.texts.map((t) => t.text)).toEqual(['hello bob']);
    expect(archived(b)).toBe(1);
    expect(b.store.undelivered.countFor(b.accountId)).toBe(1);
  }, 30_000);

  it('while the store fails, the sending gateway keeps the message queued', async () => {
    const a = await tlsimGateway(alice);
    const b = await offlineUser(bob, 'accept');
    b.sink.failures = Number.MAX_SAFE_INTEGER;
    await a.net.addContact(bob.fingerprint, { address: `127.0.0.1:${b.port}` });
    await a.sink.until(() => a.sink.online.has(bob.fingerprint), 'alice sees bob online');
    await a.net.sendText(bob.fingerprint, 'hello bob');
    await b.sink.until(() => b.sink.failures < Number.MAX_SAFE_INTEGER - 1, 'bob tried twice');
    expect(a.net.selfInfo().queued).toBe(1);
    expect(archived(b)).toBe(0);
    expect(b.store.undelivered.countFor(b.accountId)).toBe(0);
  }, 30_000);

  it('accepting a request hands out the held messages only with their offline copies (one commit)', async () => {
    const a = await tlsimGateway(alice);
    const b = await offlineUser(bob, 'ask');
    await a.net.addContact(bob.fingerprint, { address: `127.0.0.1:${b.port}` });
    await b.sink.until(() => b.sink.requests.includes(alice.fingerprint), 'bob sees a request');
    await a.net.sendText(bob.fingerprint, 'held one');
    await a.sink.until(() => a.net.selfInfo().queued === 0, 'bob holds it (acknowledged)');
    expect(b.store.held.countFor(b.accountId, alice.fingerprint)).toBe(1);
    b.sink.failures = 1;
    await expect(b.net.answerRequest(alice.fingerprint, true)).rejects.toThrow('disk is full');
    expect(b.store.held.countFor(b.accountId, alice.fingerprint)).toBe(1);
    expect(b.store.undelivered.countFor(b.accountId)).toBe(0);
    expect(b.net.getContact(alice.fingerprint)?.state).toBe('requested');
    await b.net.answerRequest(alice.fingerprint, true);
    expect(b.sink.texts.map((t) => t.text)).toEqual(['held one']);
    expect(b.store.held.countFor(b.accountId, alice.fingerprint)).toBe(0);
    expect(b.store.undelivered.countFor(b.accountId)).toBe(1);
  }, 30_000);
});
