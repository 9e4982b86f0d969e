// Transport mode on a real ejabberd: the same register → add → chat flow as on Prosody, and two
// gateway instances behind one component domain with domain_balancing bare_source: each user is
// served by exactly one instance, and messages go both ways whichever instance that is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlixmppClient } from '../../clients/slixmpp/driver.js';
import { startEjabberd, type EjabberdServer } from '../support/ejabberd.js';
import { makeOpensslIdentity, removeTmpDirs, tmpDir } from '../support/identities.js';
import { freePort } from '../support/net.js';
import { interopSuite } from '../support/tools.js';
import { startComponentE2e, type E2eComponentGateway } from './support/component-gateway.js';
import { login, messageFrom, registerWithGateway, seesOnline, T, tellGateway, WAIT } from './support/component-users.js';
import { opensslServer } from './support/reference-peer.js';

const SECRET = 'ejabberd-component-secret';
// With two slots, carol's bare JID hashes to one instance and judy's and niaj's to the other (ejabberd's phash2).
const USERS = { alice: 'alice-pw', carol: 'carol-pw', judy: 'judy-pw', niaj: 'niaj-pw' };

interopSuite('e2e: ejabberd users ⇄ gateway component(s) ⇄ reference peers', ['ejabberd', 'slixmpp', 'openssl'], () => {
  const clients: SlixmppClient[] = [];
  const stops: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop().catch(() => undefined)));
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    removeTmpDirs();
  }, T);

  /** A listening reference peer the user adds by typing its share string to the gateway, then chats with. */
  async function chatWithNewPeer(client: SlixmppClient, domain: string, name: string): Promise<void> {
    const id = await makeOpensslIdentity(tmpDir(name));
    const peer = await opensslServer(id);
    stops.push(() => peer.proc.kill());
    const peerJid = `${id.fingerprint}@${domain}`;
    const since = client.mark();
    await tellGateway(client, domain, `add tlsim://${id.fingerprint}@127.0.0.1:${peer.port} ${name}`, /^Added /);
    await seesOnline(client, peerJid, since);
    await client.request({ cmd: 'send', to: peerJid, body: `hello ${name}` });
    await peer.proc.waitFor(new RegExp(`^hello ${name}$`, 'm'), WAIT, { stream: 'stdout' });
    const from = client.mark();
    await peer.type(`${name} answers\n`);
    await messageFrom(client, peerJid, new RegExp(`${name} answers`), from);
  }

  describe('one gateway', () => {
    const DOMAIN = 'peers.localhost';
    let server: EjabberdServer;
    let gw: E2eComponentGateway;
    beforeAll(async () => {
      server = await startEjabberd({ users: { alice: USERS.alice }, components: { [DOMAIN]: SECRET } });
      stops.push(() => server.stop());
      gw = await startComponentE2e({ domain: DOMAIN, secret: SECRET, port: server.componentPort, peerPortBase: (await freePort()) - 1 });
      stops.push(() => gw.stop());
      await gw.log.waitFor((l) => l.msg === 'component connected', WAIT);
    }, T);

    it('an ejabberd user registers with the component, adds a reference peer and chats both ways', async () => {
      const client = await login(server, 'alice', USERS.alice, clients);
      const alice = await registerWithGateway(client, 'alice', server.domain, DOMAIN);
      expect(alice.fingerprint).toMatch(/^[0-9a-f]{64}$/);
      await chatWithNewPeer(client, DOMAIN, 'sam');
    }, T);
  });

  describe('two gateway instances, one component domain (domain_balancing bare_source)', () => {
    const DOMAIN = 'tlsim.localhost';
    let server: EjabberdServer;
    const instances: E2eComponentGateway[] = [];
    beforeAll(async () => {
      server = await startEjabberd({
        users: { carol: USERS.carol, judy: USERS.judy, niaj: USERS.niaj },
        components: { [DOMAIN]: SECRET },
        // Exactly as many slots as instances: ejabberd 23.01 drops stanzas hashed to an empty slot.
        balancing: { [DOMAIN]: { type: 'bare_source', componentNumber: 2 } },
      });
      stops.push(() => server.stop());
      for (let i = 0; i < 2; i++) {
        const gw = await startComponentE2e({ domain: DOMAIN, secret: SECRET, port: server.componentPort, peerPortBase: (await freePort()) - 1 });
        stops.push(() => gw.stop());
        instances.push(gw);
        await gw.log.waitFor((l) => l.msg === 'component connected', WAIT);
      }
    }, T);

    it('each user is served by exactly one instance, both instances serve someone, and everyone chats', async () => {
      const names = ['carol', 'judy', 'niaj'] as const;
      for (const name of names) {
        const client = await login(server, name, USERS[name], clients);
        await registerWithGateway(client, name, server.domain, DOMAIN);
        await chatWithNewPeer(client, DOMAIN, `peer-of-${name}`);
      }
      const servedBy = names.map((n) => instances.filter((gw) => gw.running.transport.isRegistered(`${n}@${server.domain}`)).length);
      expect(servedBy).toEqual([1, 1, 1]);
      const perInstance = instances.map((gw) => gw.running.status().component!.users);
      expect(perInstance.every((n) => n >= 1)).toBe(true);
    }, T);
  });
});
