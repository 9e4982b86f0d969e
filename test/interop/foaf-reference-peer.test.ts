// A reference peer has no FOAF profile (issue 13): gnutls-serv (GnuTLS, as the reference tlsd) as a contact is
// recorded as "no profile (a reference peer)", and nothing is ever written to it: it echoes what it reads, and only
// our own message comes back.
import { afterAll, expect, it } from 'vitest';
import { generateIdentity } from '../../bridge-protocol/index.js';
import { runCommandLine } from '../../gateway/commands/index.js';
import { gnutlsServ, type ListeningPeer } from '../e2e/support/reference-peer.js';
import { startFoafPeer, type FoafPeer } from '../support/foaf.js';
import { makeOpensslIdentity, removeTmpDirs, tmpDir } from '../support/identities.js';
import { killAll } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';

interopSuite('FOAF: a reference peer (gnutls-serv) has no profile, and is never sent a request', ['gnutls-serv', 'openssl'], () => {
  let a: FoafPeer | undefined;
  let ref: ListeningPeer | undefined;
  afterAll(async () => {
    await a?.stop();
    await killAll();
    removeTmpDirs();
  });

  it('crawl: "no profile (a reference peer)", no line written, nothing to find', async () => {
    const id = await makeOpensslIdentity(tmpDir('foaf-ref'), { name: 'ref' });
    ref = await gnutlsServ(id);
    a = await startFoafPeer(await generateIdentity());
    await a.net.addContact(id.fingerprint, { name: 'Rex', address: `127.0.0.1:${ref.port}` });
    await a.sink.until(() => a!.sink.online.has(id.fingerprint), 'the link with gnutls-serv');
    expect(await a.net.directory.crawl()).toMatchObject({ fetched: 0, none: 1 });
    expect(a.net.directory.status(id.fingerprint)).toMatchObject({ status: 'none', reason: 'a reference peer (tlsd): it has no profile' });
    expect(a.net.directory.search({ text: 'rex' })).toEqual([]);
    // The user is told, by the gateway contact's `crawl`.
    const said = await runCommandLine({ network: a.net, peerDomain: 'peers.localhost' }, 'crawl');
    expect(said.text).toContain('• Rex (');
    expect(said.text).toMatch(/Rex \([0-9a-f]{8}…\): no profile \(a reference peer \(tlsd\): it has no profile\)/);
    // gnutls-serv --echo sends back every line it reads: our own message comes back, and nothing before it did.
    await a.net.sendText(id.fingerprint, 'only this line');
    await a.sink.until(() => a!.sink.texts.length > 0, 'the echo of our message');
    await new Promise((r) => setTimeout(r, 500));
    expect(a.sink.texts.map((t) => t.text)).toEqual(['only this line']);
  }, 60_000);
});
