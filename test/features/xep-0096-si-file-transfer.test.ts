// Pidgin's Send File… dialogues (XEP-0096 over XEP-0095, bytes by XEP-0047 IBB): contacts advertise it, an offer is
// answered with IBB, the blocks become a file of the store, and a reference contact gets one line; an offer without
// IBB, too large, to a stranger, a block out of sequence or a stream that never opens are refused or dropped.
import { beforeEach, describe, expect, it } from 'vitest';
import type { UploadStore } from '../../gateway/files/upload-store.js';
import { randomPeerId } from '../../gateway/bridge/fake-peer-network.js';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import { testUploadStore } from '../support/upload-store.js';
import { stanzaErrorOf, type TestGateway } from '../support/xmpp-harness.js';

const SI = 'http://jabber.org/protocol/si';
const FT = 'http://jabber.org/protocol/si/profile/file-transfer';
const IBB = 'http://jabber.org/protocol/ibb';

const offer = (sid: string, size: number | string, methods = [IBB, 'http://jabber.org/protocol/bytestreams']) =>
  `<si xmlns='${SI}' id='${sid}' mime-type='text/plain' profile='${FT}'><file xmlns='${FT}' name='a.txt' size='${size}'/>` +
  `<feature xmlns='http://jabber.org/protocol/feature-neg'><x xmlns='jabber:x:data' type='form'><field var='stream-method' type='list-single'>` +
  methods.map((m) => `<option><value>${m}</value></option>`).join('') +
  `</field></x></feature></si>`;
const open = (sid: string, block = 4096) => `<open xmlns='${IBB}' sid='${sid}' block-size='${block}' stanza='iq'/>`;
const data = (sid: string, seq: number, bytes: string) => `<data xmlns='${IBB}' sid='${sid}' seq='${seq}'>${Buffer.from(bytes).toString('base64')}</data>`;

describe('si file transfer', () => {
  let gw: TestGateway;
  let files: UploadStore;
  beforeEach(async () => {
    files = await testUploadStore({ maxFileBytes: 1000, quotaBytes: 10_000, expiryMs: 60_000 });
  });
  gatewayPerTest(
    (d) => ({ gw } = d),
    () => ({ server: { files: files.forAccount(1) } }),
  );

  it('takes a file in band and sends a reference contact one line about it; the user is told', async () => {
    const rex = gw.fake!.addFakeContact({ name: 'Rex', online: true });
    const me = await gw.login();
    const to = `${rex.id}@${gw.peerDomain}/tlsim`;
    const info = await me.iq(`<query xmlns='http://jabber.org/protocol/disco#info'/>`, { to });
    expect(info.getChild('query')!.getChildren('feature').map((f) => f.attrs.var)).toEqual(expect.arrayContaining([SI, FT, IBB]));
    const accepted = await me.iq(offer('s1', 11), { type: 'set', to });
    expect(accepted.getChild('si', SI)!.getChild('feature')!.getChild('x')!.getChild('field')!.getChildText('value')).toBe(IBB);
    expect((await me.iq(open('s1'), { type: 'set', to })).attrs.type).toBe('result');
    expect((await me.iq(data('s1', 0, 'hello '), { type: 'set', to })).attrs.type).toBe('result');
    expect((await me.iq(data('s1', 1, 'world'), { type: 'set', to })).attrs.type).toBe('result');
    expect((await me.iq(`<close xmlns='${IBB}' sid='s1'/>`, { type: 'set', to })).attrs.type).toBe('result');
    const told = await me.next((el) => el.name === 'message' && el.attrs.from === gw.domain && /a\.txt/.test(el.getChildText('body') ?? ''));
    expect(told.getChildText('body')).toMatch(/was not sent: Rex is a plain tlsim peer/);
    expect(gw.fake!.sent.map((s) => s.text)).toEqual(['[a file was offered here: "a.txt", 11 bytes; tlsim carries text only, so it was not sent]']);
  });

  it('refuses an offer without IBB, one too large, one to a stranger, and ends a stream on a block out of sequence', async () => {
    const rex = gw.fake!.addFakeContact({ name: 'Rex', online: true });
    const me = await gw.login();
    const to = `${rex.id}@${gw.peerDomain}/tlsim`;
    const noIbb = await me.iq(offer('s2', 5, ['http://jabber.org/protocol/bytestreams']), { type: 'set', to });
    expect(stanzaErrorOf(noIbb)).toBe('bad-request');
    expect(noIbb.getChild('error')!.getChild('no-valid-streams', SI)).toBeDefined();
    expect(stanzaErrorOf(await me.iq(offer('s3', 5000), { type: 'set', to }))).toBe('not-acceptable');
    expect(stanzaErrorOf(await me.iq(offer('s4', 5), { type: 'set', to: `${randomPeerId()}@${gw.peerDomain}/tlsim` }))).toBe('item-not-found');
    await me.iq(offer('s5', 10), { type: 'set', to });
    expect(stanzaErrorOf(await me.iq(open('s5', 100_000), { type: 'set', to }))).toBe('resource-constraint');
    await me.iq(open('s5'), { type: 'set', to });
    expect(stanzaErrorOf(await me.iq(data('s5', 1, 'x'), { type: 'set', to }))).toBe('unexpected-request');
    // The stream is gone after that.
    expect(stanzaErrorOf(await me.iq(data('s5', 0, 'x'), { type: 'set', to }))).toBe('item-not-found');
    // More bytes than offered are refused.
    await me.iq(offer('s6', 3), { type: 'set', to });
    await me.iq(open('s6'), { type: 'set', to });
    expect(stanzaErrorOf(await me.iq(data('s6', 0, 'four'), { type: 'set', to }))).toBe('not-acceptable');
  });
  // Found by the si-ibb fuzz target: Number() read "1e2" as a size of 100 and a missing or empty seq as block 0.
  it('takes a size, block-size or seq written in digits only: "1e2", "0x10", "" are bad-request', async () => {
    const rex = gw.fake!.addFakeContact({ name: 'Rex', online: true });
    const me = await gw.login();
    const to = `${rex.id}@${gw.peerDomain}/tlsim`;
    expect(stanzaErrorOf(await me.iq(offer('n1', '1e2'), { type: 'set', to }))).toBe('bad-request');
    expect(stanzaErrorOf(await me.iq(offer('n1', ''), { type: 'set', to }))).toBe('bad-request');
    await me.iq(offer('n1', 2), { type: 'set', to });
    expect(stanzaErrorOf(await me.iq(`<open xmlns='${IBB}' sid='n1' block-size='0x10'/>`, { type: 'set', to }))).toBe('bad-request');
    await me.iq(open('n1'), { type: 'set', to });
    const noSeq = await me.iq(`<data xmlns='${IBB}' sid='n1'>aGk=</data>`, { type: 'set', to });
    expect(stanzaErrorOf(noSeq)).toBe('bad-request');
    // A block the gateway cannot place ends the stream (XEP-0047 §2.2).
    expect(stanzaErrorOf(await me.iq(data('n1', 0, 'hi'), { type: 'set', to }))).toBe('item-not-found');
  });
  // Found by the si-ibb fuzz target: Buffer.from read "aGk" (no padding) or "aGl=" as bytes, other than were sent or none.
  it('takes a block only as padded base64 (line breaks allowed, as in XEP-0047), else bad-request and the stream ends', async () => {
    const rex = gw.fake!.addFakeContact({ name: 'Rex', online: true });
    const me = await gw.login();
    const to = `${rex.id}@${gw.peerDomain}/tlsim`;
    for (const [sid, text] of [['b1', 'aGk'], ['b2', 'aGl='], ['b3', 'a*Gk='], ['b4', 'A']]) {
      await me.iq(offer(sid!, 2), { type: 'set', to });
      await me.iq(open(sid!), { type: 'set', to });
      const bad = await me.iq(`<data xmlns='${IBB}' sid='${sid}' seq='0'>${text}</data>`, { type: 'set', to });
      expect(stanzaErrorOf(bad), text).toBe('bad-request');
      expect(stanzaErrorOf(await me.iq(data(sid!, 1, 'x'), { type: 'set', to })), text).toBe('item-not-found');
    }
    await me.iq(offer('b5', 2), { type: 'set', to });
    await me.iq(open('b5'), { type: 'set', to });
    expect((await me.iq(`<data xmlns='${IBB}' sid='b5' seq='0'>\n  aG\n  k=\n</data>`, { type: 'set', to })).attrs.type).toBe('result');
  });
  // Found by the si-ibb fuzz target: these came as type wait or modify, which tells a client to retry a stream that is gone.
  it('answers a block it cannot take with an error of type cancel (XEP-0047 §2.2): out of sequence, too large, past the size', async () => {
    const rex = gw.fake!.addFakeContact({ name: 'Rex', online: true });
    const me = await gw.login();
    const to = `${rex.id}@${gw.peerDomain}/tlsim`;
    const cases: Array<[string, number, string, string]> = [['c1', 1, 'x', 'unexpected-request'], ['c2', 0, 'too large for 4', 'unexpected-request'], ['c3', 0, 'abc', 'not-acceptable']];
    for (const [sid, seq, bytes, condition] of cases) {
      await me.iq(offer(sid, 2), { type: 'set', to });
      await me.iq(open(sid, 4), { type: 'set', to });
      const refused = await me.iq(data(sid, seq, bytes), { type: 'set', to });
      expect(stanzaErrorOf(refused), sid).toBe(condition);
      expect(refused.getChild('error')!.attrs.type, sid).toBe('cancel');
    }
  });
});
