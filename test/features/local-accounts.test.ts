// Several local accounts on one gateway: each logs in with its own password (SCRAM and PLAIN), sees
// only its own peers and messages, finds the others in its roster ("This gateway"), and chats with
// them through the gateway, with offline storage while one is away; a removed account is cut off.
import { describe, expect, it } from 'vitest';
import type { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import { LoginRateLimiter } from '../../gateway/xmpp/login-rate-limit.js';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import { gatewayPerTest, isRosterPush, pushedRosterItem, ROSTER } from '../support/feature-dialogue.js';
import { memoryDuplexPair } from '../../bridge-protocol/transport/memory.js';
import { Client, SASL_NS, stanzaErrorOf, startTestGateway, type TestAccount, type TestClient, type TestGateway } from '../support/xmpp-harness.js';

const DELAY = 'urn:xmpp:delay';
const PING = 'urn:xmpp:ping';
const plain = (user: string, pass: string) => Buffer.from(`\0${user}\0${pass}`).toString('base64');
const chatFrom = (from: string) => (el: Element) => el.name === 'message' && el.attrs.from === from && el.getChild('body') !== undefined;
const presenceFrom = (from: string, type?: string) => (el: Element) => el.name === 'presence' && el.attrs.from === from && el.attrs.type === type;

async function rosterOf(c: TestClient): Promise<Element[]> {
  const r = await c.iq(`<query xmlns='${ROSTER}'/>`, { type: 'get' });
  return r.getChild('query', ROSTER)!.getChildren('item');
}

describe('several local accounts', () => {
  let gw: TestGateway;
  let fake: FakePeerNetwork;
  gatewayPerTest((d) => ({ gw, fake } = d));
  const as = (a: TestAccount) => ({ username: a.username, password: a.password });

  it('each account logs in with its own password over SCRAM-SHA-1, SCRAM-SHA-256 and PLAIN, and binds its own JID', async () => {
    const bob = await gw.addAccount('bob');
    expect((await gw.login({ as: as(bob), resource: 'laptop' })).jid).toBe('bob@localhost/laptop');
    expect((await gw.login()).jid).toMatch(/^me@localhost\//);
    for (const hash of ['SHA-1', 'SHA-256'] as const) {
      const c = await gw.connect();
      await c.open();
      // Localparts compare case-insensitively; the stream binds the account's own spelling.
      await c.authenticate('Bob', bob.password, hash);
      // One account's password never opens another.
      const d = await gw.connect();
      await d.open();
      await expect(d.authenticate('me', bob.password, hash)).rejects.toThrow(/not-authorized/);
      await expect(d.authenticate('bob', gw.password, hash)).rejects.toThrow(/not-authorized/);
    }
  });

  it('PLAIN checks the password of the account named (and refuses an unknown one)', async () => {
    const g = await startTestGateway({ server: { allowPlainWithoutTls: true } });
    try {
      const bob = await g.addAccount('bob');
      const auth = async (user: string, pass: string) => {
        const c = await g.connect();
        await c.open();
        c.send(`<auth xmlns='${SASL_NS}' mechanism='PLAIN'>${plain(user, pass)}</auth>`);
        return (await c.next()).name === 'success' ? 'success' : 'failure';
      };
      expect(await auth('bob', bob.password)).toBe('success');
      expect(await auth('me', g.password)).toBe('success');
      expect(await auth('me', bob.password)).toBe('failure');
      expect(await auth('carol', bob.password)).toBe('failure');
    } finally {
      await g.stop();
    }
  });

  it('failed logins slow down that account only: the others still log in from the same address', async () => {
    const g = await startTestGateway({ server: { rateLimiter: new LoginRateLimiter({ freeFailures: 1, baseDelayMs: 60_000 }) } });
    try {
      const bob = await g.addAccount('bob');
      const c = await g.connect();
      await c.open();
      await expect(c.authenticate('bob', 'wrong')).rejects.toThrow(/not-authorized/);
      await expect(c.authenticate('bob', bob.password)).rejects.toThrow(/temporary-auth-failure/);
      expect((await g.login()).jid).toMatch(/^me@localhost\//);
      // Bob from another address is not held back by what was tried from this one.
      const [client, serverEnd] = memoryDuplexPair();
      g.server.acceptStream(serverEnd, { remote: '192.0.2.9:5555' });
      const other = new Client(client);
      await other.open();
      await other.authenticate('bob', bob.password);
      other.kill();
    } finally {
      await g.stop();
    }
  });

  it('every account sees the others in its roster (group "This gateway", subscription both), never their peers', async () => {
    const bob = await gw.addAccount('bob');
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    bob.fake!.addFakeContact({ name: 'Zed', online: true });
    const me = await gw.login();
    const b = await gw.login({ as: as(bob) });
    const mine = await rosterOf(me);
    expect(mine.map((i) => i.attrs.jid)).toEqual(['localhost', `${alice.id}@peers.localhost`, 'bob@localhost']);
    expect(mine[2]!.attrs).toMatchObject({ subscription: 'both', name: 'bob' });
    expect(mine[2]!.getChildText('group')).toBe('This gateway');
    const bobs = await rosterOf(b);
    expect(bobs.map((i) => i.attrs.jid)).toContain('me@localhost');
    expect(bobs.map((i) => i.attrs.jid)).not.toContain(`${alice.id}@peers.localhost`);
    // Renaming a local account in one's roster is accepted and changes nothing; removing it is refused.
    const rename = await me.iq(`<query xmlns='${ROSTER}'><item jid='bob@localhost' name='Bobby'/></query>`, { type: 'set' });
    expect(rename.attrs.type).toBe('result');
    const remove = await me.iq(`<query xmlns='${ROSTER}'><item jid='bob@localhost' subscription='remove'/></query>`, { type: 'set' });
    expect(stanzaErrorOf(remove)).toBe('not-allowed');
  });

  it("one account's peers, messages and notices never reach another account's clients", async () => {
    const bob = await gw.addAccount('bob');
    const alice = fake.addFakeContact({ name: 'Alice', online: true });
    const me = await gw.login();
    const b = await gw.login({ as: as(bob) });
    await me.next(presenceFrom('localhost'));
    await b.next(presenceFrom('localhost'));
    fake.peerSays(alice.id, 'for me only');
    fake.notice('a notice for me');
    await me.next(chatFrom(`${alice.id}@peers.localhost/tlsim`));
    await me.next((el) => chatFrom('localhost')(el) && el.getChildText('body') === 'a notice for me');
    await b.expectNothing(300, (el) => el.name === 'message' || (el.name === 'presence' && el.attrs.from?.startsWith(alice.id) === true));
    // Bob writing to Alice's JID writes to a peer he does not have: his network, not mine.
    b.send(`<message type='chat' to='${alice.id}@peers.localhost' id='x'><body>hi</body></message>`);
    const err = await b.next((el) => el.name === 'message' && el.attrs.type === 'error');
    expect(stanzaErrorOf(err)).toBe('item-not-found');
    expect(fake.sent).toHaveLength(0);
    // My session's resource is not one of bob's own: a ping to my resource name under his JID is nobody's.
    const iq = await b.iq(`<ping xmlns='${PING}'/>`, { type: 'get', to: `bob@localhost/${me.jid!.split('/')[1]}` });
    expect(stanzaErrorOf(iq)).toBe('service-unavailable');
  });

  it('a message to another account reaches its sessions from the full JID of the sender; bare and full JIDs', async () => {
    const bob = await gw.addAccount('bob');
    const me = await gw.login({ resource: 'desk' });
    const b1 = await gw.login({ as: as(bob), resource: 'phone' });
    const b2 = await gw.login({ as: as(bob), resource: 'laptop' });
    me.send(`<message type='chat' to='bob@localhost' id='m1'><body>hello bob</body></message>`);
    for (const c of [b1, b2]) {
      const m = await c.next(chatFrom('me@localhost/desk'));
      expect(m.getChildText('body')).toBe('hello bob');
      expect(m.attrs.to).toBe('bob@localhost');
    }
    me.send(`<message type='chat' to='bob@localhost/laptop' id='m2'><body>only the laptop</body></message>`);
    expect((await b2.next(chatFrom('me@localhost/desk'))).getChildText('body')).toBe('only the laptop');
    await b1.expectNothing(200, chatFrom('me@localhost/desk'));
    // And back, to the full JID the message came from.
    b1.send(`<message type='chat' to='me@localhost/desk' id='r1'><body>hi me</body></message>`);
    expect((await me.next(chatFrom('bob@localhost/phone'))).getChildText('body')).toBe('hi me');
  });

  it('a message to an account with nobody online waits for its next login, stamped', async () => {
    const bob = await gw.addAccount('bob');
    const me = await gw.login({ resource: 'desk' });
    me.send(`<message type='chat' to='bob@localhost/gone' id='m1'><body>while you were out</body></message>`);
    me.send(`<message type='chat' to='bob@localhost'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`);
    await me.sync();
    await me.expectNothing(200, (el) => el.name === 'message' && el.attrs.type === 'error');
    const b = await gw.login({ as: as(bob) });
    const m = await b.next(chatFrom('me@localhost/desk'));
    expect(m.getChildText('body')).toBe('while you were out');
    expect(m.getChild('delay', DELAY)?.attrs.from).toBe('localhost');
    await b.expectNothing(200, (el) => el.name === 'message' && el.attrs.from === 'me@localhost/desk');
    // Kept for bob only: my own next login gets nothing of it.
    const me2 = await gw.login();
    await me2.expectNothing(200, chatFrom('me@localhost/desk'));
  });

  it('presence flows between accounts: at login, on change, and when a session ends', async () => {
    const bob = await gw.addAccount('bob');
    const me = await gw.login({ resource: 'desk' });
    const b = await gw.login({ as: as(bob), resource: 'phone', presence: false });
    b.send(`<presence><show>away</show><status>lunch</status></presence>`);
    const p = await me.next(presenceFrom('bob@localhost/phone'));
    expect(p.getChildText('show')).toBe('away');
    // Bob's login brought him my presence.
    await b.next(presenceFrom('me@localhost/desk'));
    // A later login sees both sessions present.
    const b2 = await gw.login({ as: as(bob), resource: 'laptop' });
    expect((await b2.next(presenceFrom('me@localhost/desk'))).attrs.to).toBe('bob@localhost/laptop');
    await me.next(presenceFrom('bob@localhost/laptop'));
    b.kill();
    await me.next(presenceFrom('bob@localhost/phone', 'unavailable'));
    // A probe is answered with what is online.
    me.send(`<presence type='probe' to='bob@localhost'/>`);
    await me.next(presenceFrom('bob@localhost/laptop'));
  });

  it("an iq to another account's resource reaches that session, and its answer comes back", async () => {
    const bob = await gw.addAccount('bob');
    const me = await gw.login({ resource: 'desk' });
    const b = await gw.login({ as: as(bob), resource: 'phone' });
    me.send(`<iq type='get' id='v1' to='bob@localhost/phone'><query xmlns='jabber:iq:version'/></iq>`);
    const req = await b.next((el) => el.name === 'iq' && el.attrs.id === 'v1');
    expect(req.attrs.from).toBe('me@localhost/desk');
    b.send(`<iq type='result' id='v1' to='me@localhost/desk'><query xmlns='jabber:iq:version'><name>test</name></query></iq>`);
    const res = await me.next((el) => el.name === 'iq' && el.attrs.id === 'v1');
    expect(res.attrs).toMatchObject({ type: 'result', from: 'bob@localhost/phone' });
    const none = await me.iq(`<query xmlns='jabber:iq:version'/>`, { type: 'get', to: 'bob@localhost/nowhere' });
    expect(stanzaErrorOf(none)).toBe('service-unavailable');
    // An address at the gateway that is no account is still nobody.
    me.send(`<message type='chat' to='carol@localhost' id='c1'><body>hello?</body></message>`);
    expect(stanzaErrorOf(await me.next((el) => el.name === 'message' && el.attrs.type === 'error'))).toBe('service-unavailable');
  });

  it('an account added while others are online appears in their rosters; a removed one is cut off and leaves them', async () => {
    const me = await gw.login({ resource: 'desk' });
    const carol = await gw.addAccount('carol');
    const added = pushedRosterItem(await me.next(isRosterPush));
    expect(added.attrs).toMatchObject({ jid: 'carol@localhost', subscription: 'both' });
    const c = await gw.login({ as: as(carol), resource: 'x' });
    await me.next(presenceFrom('carol@localhost/x'));
    expect(await gw.server.removeAccount('carol@localhost')).toBe(true);
    expect(await c.closed).toEqual({ streamError: 'not-authorized' });
    await me.next(presenceFrom('carol@localhost/x', 'unavailable'));
    const removed = pushedRosterItem(await me.next(isRosterPush));
    expect(removed.attrs).toMatchObject({ jid: 'carol@localhost', subscription: 'remove' });
    // Gone for good: no login, no delivery.
    const d = await gw.connect();
    await d.open();
    await expect(d.authenticate('carol', carol.password)).rejects.toThrow(/not-authorized/);
    me.send(`<message type='chat' to='carol@localhost' id='c2'><body>still there?</body></message>`);
    expect(stanzaErrorOf(await me.next((el) => el.name === 'message' && el.attrs.type === 'error'))).toBe('service-unavailable');
  });
});
