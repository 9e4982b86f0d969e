// End to end: three local accounts on one gateway (me@localhost on @xmpp/client, bob@localhost on
// slixmpp, carol@localhost on @xmpp/client) chat with each other through the gateway, and a message for
// one who is offline waits for them; each also has a reference peer of its own (gnutls-serv) reached from
// its own identity, and an openssl s_client sees each account's listener present that account's fingerprint.
import { createHash, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SlixmppClient } from '../../clients/slixmpp/driver.js';
import type { XmppJsClient } from '../../clients/xmppjs/client.js';
import type { AccountInfo } from '../../gateway/accounts/local-accounts.js';
import { makeOpensslIdentity, removeTmpDirs, tmpDir } from '../support/identities.js';
import { killAll, spawnProc } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';
import { startInProcessGateway, type E2eGateway } from './support/gateway.js';
import { gnutlsServ, WAIT_MS, type ListeningPeer } from './support/reference-peer.js';
import { xmppObserver } from './support/users.js';

const T = 240_000;
const GATEWAY = 'localhost';

interopSuite('e2e: three local accounts on one gateway, each with a reference peer of its own', ['slixmpp', 'gnutls-serv', 'openssl'], () => {
  let gw: E2eGateway;
  let accounts: AccountInfo[];
  const passwords = new Map<string, string>();
  let me: XmppJsClient | undefined;
  let carol: XmppJsClient | undefined;
  let bob: SlixmppClient | undefined;
  const peers = new Map<string, ListeningPeer>();

  const endpoint = (name: string) => ({ c2sPort: gw.c2sPort, userJid: `${name}@localhost`, password: passwords.get(name)!, caCertFile: gw.caCertFile });
  const connectBob = async (): Promise<SlixmppClient> => {
    const c = await SlixmppClient.start({ log: 'info' });
    await c.connect({ jid: 'bob@localhost/slix', password: passwords.get('bob')!, host: '127.0.0.1', port: gw.c2sPort, ca_file: gw.caCertFile });
    return c;
  };

  beforeAll(async () => {
    gw = await startInProcessGateway();
    passwords.set('me', gw.password);
    for (const name of ['bob', 'carol']) {
      const info = await gw.running.accounts.add(name);
      passwords.set(name, (await readFile(info.passwordFile, 'utf8')).trim());
    }
    accounts = await gw.running.accounts.list();
    me = await xmppObserver(endpoint('me'), 'desk');
    carol = await xmppObserver(endpoint('carol'), 'phone');
    bob = await connectBob();
  }, T);

  afterAll(async () => {
    await me?.stop();
    await carol?.stop();
    await bob?.stop();
    await gw?.stop();
    await killAll();
    removeTmpDirs();
  });

  it('each account has an identity, listener and share string of its own', () => {
    expect(accounts.map((a) => a.jid)).toEqual(['me@localhost', 'bob@localhost', 'carol@localhost']);
    expect(new Set(accounts.map((a) => a.fingerprint)).size).toBe(3);
    expect(new Set(accounts.map((a) => a.peerPort)).size).toBe(3);
    expect(accounts[0]).toMatchObject({ fingerprint: gw.fingerprint, share: gw.share });
  });

  it("a reference client (openssl s_client) sees each account's own certificate on its peer port", async () => {
    const id = await makeOpensslIdentity(tmpDir('s_client-acc'), { name: 'probe' });
    for (const a of accounts) {
      const p = await spawnProc('openssl', ['s_client', '-connect', `127.0.0.1:${a.peerPort}`, '-key', id.keyFile, '-cert', id.certFile], { cwd: tmpDir('s_client') });
      await p.waitFor(/-----END CERTIFICATE-----/, WAIT_MS, { stream: 'stdout' });
      const out = p.output('stdout');
      await p.kill();
      const pem = out.slice(out.indexOf('-----BEGIN CERTIFICATE-----'), out.indexOf('-----END CERTIFICATE-----') + 25);
      const fp = createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
      expect(fp, a.jid).toBe(a.fingerprint);
    }
  }, T);

  it('the three chat with each other through the gateway, from full JIDs', async () => {
    const roster = (await bob!.roster()).items.map((i) => i.jid);
    expect(roster).toEqual(expect.arrayContaining(['me@localhost', 'carol@localhost', GATEWAY]));
    // Bob's client learns the others are online from their presence.
    const m0 = me!.mark();
    await bob!.send('me@localhost', 'hi me, bob here');
    expect((await me!.nextMessage((m) => m.body === 'hi me, bob here', 30_000, m0)).from).toBe('bob@localhost/slix');
    await me!.send('carol@localhost', 'hello carol, from me');
    expect((await carol!.nextMessage((m) => m.body === 'hello carol, from me')).from).toBe('me@localhost/desk');
    const c0 = carol!.mark();
    await carol!.send('bob@localhost/slix', 'carol to bob');
    expect((await bob!.nextMessage((m) => m.body === 'carol to bob')).from).toBe('carol@localhost/phone');
    // Nobody else got it.
    await new Promise((r) => setTimeout(r, 300));
    expect(me!.stanzas.some((s) => s.getChildText('body') === 'carol to bob')).toBe(false);
    expect(carol!.stanzas.slice(c0).some((s) => s.getChildText('body') === 'hi me, bob here')).toBe(false);
  }, T);

  it('a message for an account with nobody online waits, and comes stamped at its next login', async () => {
    await bob!.stop();
    bob = undefined;
    await me!.send('bob@localhost', 'while you were away');
    await new Promise((r) => setTimeout(r, 300));
    bob = await connectBob();
    const m = await bob.nextMessage((x) => x.body === 'while you were away');
    expect(m.from).toBe('me@localhost/desk');
  }, T);

  it('each account reaches a gnutls-serv peer of its own; its echo comes back to that account only', async () => {
    const clients: Record<string, { command(t: string, re: RegExp): Promise<void>; send(to: string, t: string): Promise<void>; wait(from: string, body: string): Promise<void> }> = {
      me: {
        command: async (t, re) => void (await me!.send(GATEWAY, t), await me!.nextMessage((m) => m.from === GATEWAY && re.test(m.body))),
        send: async (to, t) => me!.send(to, t),
        wait: async (from, body) => void (await me!.nextMessage((m) => m.from.startsWith(from) && m.body === body)),
      },
      carol: {
        command: async (t, re) => void (await carol!.send(GATEWAY, t), await carol!.nextMessage((m) => m.from === GATEWAY && re.test(m.body))),
        send: async (to, t) => carol!.send(to, t),
        wait: async (from, body) => void (await carol!.nextMessage((m) => m.from.startsWith(from) && m.body === body)),
      },
      bob: {
        command: async (t, re) => void (await bob!.send(GATEWAY, t), await bob!.nextMessage((m) => m.from === GATEWAY && re.test(m.body))),
        send: async (to, t) => void (await bob!.send(to, t)),
        wait: async (from, body) => void (await bob!.nextMessage((m) => m.from.startsWith(from) && m.body === body)),
      },
    };
    for (const name of ['me', 'bob', 'carol']) {
      const id = await makeOpensslIdentity(tmpDir(`peer-${name}`), { name, cn: `peer of ${name}` });
      const peer = await gnutlsServ(id);
      peers.set(name, peer);
      const c = clients[name]!;
      await c.command(`add tlsim://${id.fingerprint}@127.0.0.1:${peer.port} peer-of-${name}`, /Added/);
      const jid = `${id.fingerprint}@peers.localhost`;
      await c.send(jid, `echo for ${name}`);
      await peer.proc.waitFor(new RegExp(`received cmd: echo for ${name}`), WAIT_MS);
      await c.wait(jid, `echo for ${name}`);
    }
    // Every echo went to its own account only.
    const bodies = (cl: XmppJsClient) => cl.stanzas.map((s) => s.getChildText('body'));
    expect(bodies(me!)).not.toContain('echo for carol');
    expect(bodies(me!)).not.toContain('echo for bob');
    expect(bodies(carol!)).not.toContain('echo for me');
    // Each account's contacts are its own (the s_client probe above may be one too: slixmpp accepts requests).
    for (const name of ['me', 'bob', 'carol']) {
      const ids = gw.running.server.users.get(`${name}@localhost`)!.network.listContacts().filter((c) => c.state === 'contact').map((c) => c.id);
      for (const [owner, peer] of peers) expect(ids.includes(peer.id.fingerprint), `${owner}'s peer among ${name}'s contacts`).toBe(owner === name);
    }
  }, T);
});
