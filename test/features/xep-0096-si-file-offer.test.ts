// A file a gateway peer sent, offered the way Pidgin takes files (XEP-0096 over XEP-0095, bytes by XEP-0047 IBB):
// a client whose disco#info has SI file transfer and IBB but no jabber:x:oob gets the URL message and an offer from
// the contact; accepted, the blocks come in order, one after the other's result; declined, nothing more comes. A
// client with OOB gets the message only; a client's features are asked once (per caps ver, or per session).
import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { UploadStore } from '../../gateway/files/upload-store.js';
import type { StoredFile } from '../../gateway/files/contract.js';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import { testUploadStore } from '../support/upload-store.js';
import type { TestClient, TestGateway } from '../support/xmpp-harness.js';

const SI = 'http://jabber.org/protocol/si';
const FT = 'http://jabber.org/protocol/si/profile/file-transfer';
const IBB = 'http://jabber.org/protocol/ibb';
const INFO = 'http://jabber.org/protocol/disco#info';
const LIBPURPLE = [INFO, SI, FT, IBB, 'jabber:iq:oob', 'http://jabber.org/protocol/bytestreams'];

const isIq = (type: string, child: string, ns: string) => (el: Element) => el.name === 'iq' && el.attrs.type === type && !!el.getChild(child, ns);
const reply = (c: TestClient, iq: Element, payload = '') => c.send(`<iq type='result' id='${iq.attrs.id}' to='${iq.attrs.from}'>${payload}</iq>`);
const features = (vars: string[]) => `<query xmlns='${INFO}'>${vars.map((v) => `<feature var='${v}'/>`).join('')}</query>`;
const accept = `<si xmlns='${SI}'><feature xmlns='http://jabber.org/protocol/feature-neg'><x xmlns='jabber:x:data' type='submit'><field var='stream-method'><value>${IBB}</value></field></x></feature></si>`;

describe('si file offer', () => {
  let gw: TestGateway;
  let files: UploadStore;
  beforeEach(async () => {
    files = await testUploadStore({ maxFileBytes: 100_000, quotaBytes: 1_000_000, expiryMs: 60_000 });
  });
  gatewayPerTest(
    (d) => ({ gw } = d),
    () => ({ server: { files: files.forAccount(1) } }),
  );

  async function stored(bytes: Buffer): Promise<StoredFile> {
    const up = files.forAccount(1).receive('photo 1.jpg', bytes.length, 'image/jpeg');
    await up.write(bytes);
    return (await up.end())!;
  }

  it('offers a libpurple-like client the file from the contact and sends it in order, block after block', async () => {
    const bytes = Buffer.alloc(10_000, 7);
    bytes.write('start');
    const file = await stored(bytes);
    const bob = gw.fake!.addFakeContact({ name: 'Bob', online: true, gateway: true });
    const me = await gw.login();
    gw.fake!.peerSays(bob.id, file.url);
    const msg = await me.next((el) => el.name === 'message' && el.getChildText('body') === file.url);
    expect(msg.getChild('x', 'jabber:x:oob')).toBeDefined();
    // It asks what the client is (no caps: its full JID), and the client says it is like libpurple.
    const disco = await me.next(isIq('get', 'query', INFO));
    reply(me, disco, features(LIBPURPLE));
    const offer = await me.next(isIq('set', 'si', SI));
    expect(offer.attrs.from).toBe(`${bob.id}@${gw.peerDomain}/tlsim`);
    const si = offer.getChild('si', SI)!;
    expect(si.attrs.profile).toBe(FT);
    expect(si.getChild('file', FT)!.attrs).toMatchObject({ name: 'photo 1.jpg', size: '10000' });
    expect(si.getChild('file', FT)!.getChildText('hash', 'urn:xmpp:hashes:2')).toBe(createHash('sha256').update(bytes).digest('base64'));
    reply(me, offer, accept);
    const open = await me.next(isIq('set', 'open', IBB));
    expect(open.getChild('open', IBB)!.attrs).toMatchObject({ sid: si.attrs.id, 'block-size': '4096', stanza: 'iq' });
    reply(me, open);
    const got: Buffer[] = [];
    for (let seq = 0; seq < 3; seq++) {
      const data = await me.next(isIq('set', 'data', IBB));
      expect(data.getChild('data', IBB)!.attrs.seq).toBe(String(seq));
      // Flow control: nothing more until this block is confirmed.
      await me.expectNothing(100, isIq('set', 'data', IBB));
      got.push(Buffer.from(data.getChild('data', IBB)!.text(), 'base64'));
      reply(me, data);
    }
    reply(me, await me.next(isIq('set', 'close', IBB)));
    expect(Buffer.concat(got).equals(bytes)).toBe(true);
  });

  it('a client with XEP-0066 gets the message only; a declined offer ends there; caps are asked once per ver', async () => {
    const file = await stored(Buffer.from('hello'));
    const bob = gw.fake!.addFakeContact({ name: 'Bob', online: true, gateway: true });
    const caps = (ver: string) => `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://example.org/client' ver='${ver}'/>`;
    const me = await gw.login({ presence: false });
    me.send(`<presence>${caps('with-oob')}</presence>`);
    await me.sync();
    gw.fake!.peerSays(bob.id, file.url);
    const disco = await me.next(isIq('get', 'query', INFO));
    expect(disco.getChild('query', INFO)!.attrs.node).toBe('https://example.org/client#with-oob');
    reply(me, disco, features([...LIBPURPLE, 'jabber:x:oob']));
    await me.expectNothing(300, isIq('set', 'si', SI));
    // Known by its ver now: the next file asks nothing.
    gw.fake!.peerSays(bob.id, `${file.url}`);
    await me.next((el) => el.name === 'message' && el.getChildText('body') === file.url);
    await me.expectNothing(300, (el) => el.name === 'iq');
    // Another ver, like libpurple: offered, declined, and nothing more.
    me.send(`<presence>${caps('purple')}</presence>`);
    await me.sync();
    gw.fake!.peerSays(bob.id, file.url);
    reply(me, await me.next(isIq('get', 'query', INFO)), features(LIBPURPLE));
    const offer = await me.next(isIq('set', 'si', SI));
    me.send(`<iq type='error' id='${offer.attrs.id}' to='${offer.attrs.from}'><error type='cancel'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`);
    await me.expectNothing(300, isIq('set', 'open', IBB));
  });

  it('a file that came while no client was online is offered to the libpurple-like client that takes it from the offline box', async () => {
    const file = await stored(Buffer.from('kept for later'));
    const bob = gw.fake!.addFakeContact({ name: 'Bob', online: true, gateway: true });
    gw.fake!.peerSays(bob.id, file.url);
    const me = await gw.login();
    const msg = await me.next((el) => el.name === 'message' && el.getChildText('body') === file.url);
    expect(msg.attrs.from).toBe(`${bob.id}@${gw.peerDomain}/tlsim`);
    reply(me, await me.next(isIq('get', 'query', INFO)), features(LIBPURPLE));
    const offer = await me.next(isIq('set', 'si', SI));
    expect(offer.attrs.from).toBe(`${bob.id}@${gw.peerDomain}/tlsim`);
    expect(offer.getChild('si', SI)!.getChild('file', FT)!.attrs).toMatchObject({ name: 'photo 1.jpg', size: String('kept for later'.length) });
  });
});
