// Local mode: a message from a peer that arrives while no XMPP client is logged in waits in the
// store; the gateway restarts meanwhile; the user's next login gets it, stamped, once.
import { afterAll, expect, it } from 'vitest';
import { generateIdentity } from '../../bridge-protocol/index.js';
import type { XmppJsClient } from '../../clients/xmppjs/client.js';
import { removeTmpDirs } from '../support/identities.js';
import { managerPool } from '../support/peer-managers.js';
import { waitUntil } from '../support/proc.js';
import { startInProcessGateway, type E2eGateway } from './support/gateway.js';
import { xmppObserver } from './support/users.js';

const pool = managerPool();
const running: E2eGateway[] = [];
const clients: XmppJsClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop().catch(() => undefined)));
  await Promise.all(running.map((g) => g.stop()));
  await pool.stopAll();
  removeTmpDirs();
});

/** A gateway-extension peer linked to `gw`. */
async function linkedPeer(gw: E2eGateway) {
  const peerId = await generateIdentity();
  const peer = pool.manager(peerId);
  await peer.start();
  peer.setPeer(gw.fingerprint, { host: '127.0.0.1', port: gw.peerPort });
  peer.connect(gw.fingerprint);
  await waitUntil(() => peer.isOnline(gw.fingerprint), 15_000);
  return { peerId, peer };
}

it('a message for an offline user survives a gateway restart and is delivered once, with its delay stamp', async () => {
  const gw = await startInProcessGateway({ policy: 'accept' });
  running.push(gw);
  const { peerId, peer } = await linkedPeer(gw);
  await peer.send(gw.fingerprint, 'while nobody was logged in');
  await waitUntil(() => gw.running.network.listContacts().length === 1, 5_000);
  await new Promise((r) => setTimeout(r, 300));

  await gw.stop();
  running.splice(running.indexOf(gw), 1);
  const again = await startInProcessGateway({ policy: 'accept', dataDir: gw.dataDir });
  running.push(again);
  const user = await xmppObserver(again);
  clients.push(user);
  const msg = await user.waitFor((el) => el.is('message') && el.getChildText('body') === 'while nobody was logged in', 15_000);
  expect(msg.attrs.from).toBe(`${peerId.fingerprint}@peers.localhost/tlsim`);
  expect(msg.getChild('delay', 'urn:xmpp:delay')?.attrs.stamp).toMatch(/^\d{4}-\d\d-\d\dT/);
  // Once: a second login gets nothing more.
  const second = await xmppObserver(again, 'second');
  clients.push(second);
  await new Promise((r) => setTimeout(r, 500));
  expect(second.stanzas.filter((el) => el.getChildText('body') === 'while nobody was logged in')).toEqual([]);
}, 60_000);

it('c2s.offline_messages sets how many wait: past it the oldest go, and the next login is told how many, once', async () => {
  const gw = await startInProcessGateway({ policy: 'accept', c2sConfig: 'offline_messages = 10\n' });
  running.push(gw);
  const { peer } = await linkedPeer(gw);
  await waitUntil(() => gw.running.network.listContacts()[0]?.state === 'contact', 5_000);
  for (let i = 1; i <= 14; i++) await peer.send(gw.fingerprint, `waiting ${i}`);
  const user = await xmppObserver(gw);
  clients.push(user);
  const notice = await user.waitFor((el) => el.is('message') && /older messages were dropped/.test(el.getChildText('body') ?? ''), 15_000);
  expect(notice.getChildText('body')).toBe('4 older messages were dropped while you were offline (only 10 are kept).');
  await user.waitFor((el) => el.getChildText('body') === 'waiting 14', 15_000);
  const bodies = user.stanzas.map((el) => el.getChildText('body')).filter((b) => b?.startsWith('waiting '));
  expect(bodies).toEqual(Array.from({ length: 10 }, (_, i) => `waiting ${i + 5}`));
}, 60_000);
