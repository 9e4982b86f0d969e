// FOAF profiles between gateways over real TLS links (issue 13, stages 2-3): a contact's gateway answers the profile
// request on the link with what its user published; a crawl reads contacts, then the people they list, and search
// finds a friend of a friend at distance 2 with the friend as voucher.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity, type Identity } from '../../bridge-protocol/index.js';
import { removeTmpDirs } from '../support/identities.js';
import { startFoafPeer, type FoafPeer } from '../support/foaf.js';

let ids: Identity[];
const running: FoafPeer[] = [];
const peer = async (i: number, settings = {}) => {
  const p = await startFoafPeer(ids[i]!, settings);
  running.push(p);
  return p;
};

beforeAll(async () => {
  ids = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()]);
});
afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
});
afterAll(() => removeTmpDirs());

describe('FOAF over gateway links', () => {
  it('A reads B over the link, finds C whom B published, at distance 2 with B as voucher', async () => {
    const [a, b, c] = [await peer(0), await peer(1), await peer(2)];
    c.net.directory.setField('nick', 'carol');
    c.net.directory.setField('interest', 'knitting, tor');
    b.net.directory.setField('nick', 'bob');
    await b.net.addContact(c.identity.fingerprint, { name: 'My friend C', address: `127.0.0.1:${c.port}` });
    await a.net.addContact(b.identity.fingerprint, { name: 'Bob', address: `127.0.0.1:${b.port}` });

    // B reads C's own profile, so what B publishes of C is C's nick, not B's name for C.
    expect(await b.net.directory.crawl()).toMatchObject({ fetched: 1, refused: 0 });
    b.net.directory.setPublic(c.identity.fingerprint, true);

    const report = await a.net.directory.crawl();
    expect(report).toMatchObject({ fetched: 1, refused: 0 });
    const found = a.net.directory.search({ nick: 'CAROL' });
    expect(found).toEqual([
      expect.objectContaining({ fingerprint: c.identity.fingerprint, nick: 'carol', distance: 2, vouchers: [b.identity.fingerprint], share: c.share, source: 'listed' }),
    ]);
    expect(a.net.directory.search({ text: 'bob' })).toEqual([expect.objectContaining({ fingerprint: b.identity.fingerprint, distance: 1, source: 'profile' })]);
    // What B did not publish (its other data) is not there; A learned nothing of C's interests from B.
    expect(found[0]!.interests).toEqual([]);

    // Adding the result by its JID alone (what a client's "Add" does) dials the address the profile gave: C is asked.
    await a.net.addContact(c.identity.fingerprint, {});
    await c.sink.until(() => c.sink.requests.includes(a.identity.fingerprint), "A's request at C");
    expect(a.net.getContact(c.identity.fingerprint)?.address).toBe(`127.0.0.1:${c.port}`);
  });

  it('nothing unpublished leaks: B without publish lists nobody', async () => {
    const [a, b, c] = [await peer(0), await peer(1), await peer(2)];
    c.net.directory.setField('nick', 'carol');
    await b.net.addContact(c.identity.fingerprint, { address: `127.0.0.1:${c.port}` });
    await a.net.addContact(b.identity.fingerprint, { address: `127.0.0.1:${b.port}` });
    await a.net.directory.crawl();
    expect(a.net.directory.search({ nick: 'carol' })).toEqual([]);
    expect(a.store.foaf.vouches(a.store.accounts.ensure('me@localhost'))).toEqual([]);
  });

  it('an unreachable contact, or one without address, is recorded as "no profile" with the reason, and the crawl goes on', async () => {
    const [a, b] = [await peer(0, { timeoutMs: 1_500 }), await peer(1)];
    await a.net.addContact(b.identity.fingerprint, { address: `127.0.0.1:${b.port}` });
    await a.net.addContact(ids[2]!.fingerprint, { address: '127.0.0.1:1' });
    const stranger = 'ab'.repeat(32);
    a.store.contacts.upsert(a.store.accounts.ensure('me@localhost'), stranger, { state: 'contact' });
    const report = await a.net.directory.crawl();
    expect(report).toMatchObject({ fetched: 1, none: 2 });
    expect(a.net.directory.status(ids[2]!.fingerprint)).toMatchObject({ status: 'none', reason: expect.stringMatching(/unreachable/) });
    expect(a.net.directory.status(stranger)).toMatchObject({ status: 'none', reason: 'offline, and no address to dial' });
  });
});
