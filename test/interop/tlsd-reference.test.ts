// Against the real reference daemon: TLSd built from its published source, run as its p2p-im example
// (tlsd + the example's tlsd-im-cmd.sh + std2fifo, FIFOs per peer), an XMPP user (@xmpp/client) on a
// whole gateway. Both ways of dialing; chat both ways; what only an XMPP client can say (typing, a
// receipt request) never reaches the reference peer as text, and the reference never "receives" anything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xml, type XmppJsClient } from '../../clients/xmppjs/client.js';
import { startInProcessGateway, type E2eGateway } from '../e2e/support/gateway.js';
import { xmppObserver } from '../e2e/support/users.js';
import { makeOpensslIdentity, removeTmpDirs, tmpDir } from '../support/identities.js';
import { killAll } from '../support/proc.js';
import { referenceTlsd, startTlsdIm, TLSD_BUILD_TOOLS, type TlsdIm } from '../support/tlsd.js';
import { interopSuite } from '../support/tools.js';

const T = 90_000;
const CHATSTATES = 'http://jabber.org/protocol/chatstates';
const RECEIPTS = 'urn:xmpp:receipts';

interopSuite('the real TLSd p2p-im setup (built from the published source) as a tlsim peer', [...TLSD_BUILD_TOOLS, 'openssl'], () => {
  let gw: E2eGateway;
  let user: XmppJsClient;

  beforeAll(async () => {
    await referenceTlsd();
    gw = await startInProcessGateway({ policy: 'ask' });
    user = await xmppObserver({ c2sPort: gw.c2sPort, userJid: gw.userJid, password: gw.password, caCertFile: gw.caCertFile }, 'laptop');
  }, 180_000);

  afterAll(async () => {
    await user?.stop();
    await gw?.stop();
    await killAll();
    removeTmpDirs();
  });

  /** The user's gateway contact answers a command with a line matching `re`. */
  async function command(text: string, re: RegExp): Promise<string> {
    const from = user.mark();
    await user.send('localhost', text);
    return (await user.nextMessage((m) => m.from === 'localhost' && re.test(m.body), 30_000, from)).body;
  }

  const online = (jid: string, from: number) =>
    user.waitFor((el) => el.is('presence') && (el.attrs.from ?? '').split('/')[0] === jid && el.attrs.type === undefined, 30_000, from);

  describe('the gateway dials tlsd (added by share string)', () => {
    let peer: TlsdIm;
    it('chats both ways; a multi-line message stays one; typing and receipt requests never become text, and no receipt is ever invented', async () => {
      const id = await makeOpensslIdentity(tmpDir('tlsd-a'));
      peer = await startTlsdIm(id);
      const jid = gw.jidOf(id.fingerprint);
      const mark = user.mark();
      expect(await command(`add tlsim://${id.fingerprint}@127.0.0.1:${peer.port} Tess`, /^Added /)).toContain('Tess');
      await online(jid, mark);
      const chat = await peer.conversation(gw.fingerprint);

      // XMPP → tlsd: the user types (a chat state alone), then sends with a receipt request.
      await user.xmpp.send(xml('message', { to: jid, type: 'chat' }, xml('composing', { xmlns: CHATSTATES })));
      const sent = 'hello tlsd, from XMPP';
      const fromMsg = user.mark();
      await user.xmpp.send(
        xml('message', { to: jid, type: 'chat', id: 'm-receipt-1' }, xml('body', {}, sent), xml('request', { xmlns: RECEIPTS }), xml('active', { xmlns: CHATSTATES })),
      );
      await chat.waitFor(/hello tlsd, from XMPP\n/);

      // tlsd → XMPP: the reference sender writes the text, then an LF.
      await chat.say('hi gateway, this is tlsd');
      expect((await user.nextMessage((m) => m.from.startsWith(jid), 30_000, fromMsg)).body).toBe('hi gateway, this is tlsd');
      await chat.say('line one\nline two');
      const multi = await user.nextMessage((m) => m.from.startsWith(jid) && m.body.includes('line two'), 30_000, fromMsg);
      expect(multi.body).toBe('line one\nline two');

      // A second message after the states: still only the two texts on the reference side, nothing else.
      await user.send(jid, 'second from XMPP');
      await chat.waitFor(/second from XMPP\n/);
      expect(chat.received()).toBe(`${sent}\nsecond from XMPP\n`);
      // The reference cannot say it received anything: no receipt may ever come for the message.
      const receipts = user.stanzas.slice(fromMsg).filter((el) => el.is('message') && el.getChild('received', RECEIPTS));
      expect(receipts).toEqual([]);
      await chat.close();
      await peer.stop();
    }, T);
  });

  describe('tlsd dials the gateway (its connect FIFO)', () => {
    it('is an unknown peer that asks; once accepted, its line and the next ones arrive and the answer reaches its FIFO', async () => {
      const id = await makeOpensslIdentity(tmpDir('tlsd-b'));
      const peer = await startTlsdIm(id);
      const jid = gw.jidOf(id.fingerprint);
      const mark = user.mark();
      await peer.dial('127.0.0.1', gw.peerPort);
      const chat = await peer.conversation(gw.fingerprint);
      await chat.say('hello, may I talk to you?');
      const request = await user.waitFor((el) => el.is('presence') && el.attrs.type === 'subscribe' && el.attrs.from === jid, 30_000, mark);
      expect(request.attrs.from).toBe(jid);
      await user.xmpp.send(xml('presence', { to: jid, type: 'subscribed' }));
      const first = await user.nextMessage((m) => m.from.startsWith(jid), 30_000, mark);
      expect(first.body).toBe('hello, may I talk to you?');
      await user.send(jid, 'welcome, tlsd');
      await chat.waitFor(/welcome, tlsd\n/);
      await chat.say('thanks');
      expect((await user.nextMessage((m) => m.from.startsWith(jid) && m.body === 'thanks', 30_000, mark)).body).toBe('thanks');
      await chat.close();
      await peer.stop();
    }, T);
  });
});
