// End to end, "Find people" (issue 13): three real `tlsim-gateway run` processes A, B, C, each user on slixmpp.
// A knows B, B knows C and published C. A's user searches C's nick with the XEP-0055 data form (slixmpp's
// xep_0055), finds C at distance 2 with B as voucher, adds C, and the contact request reaches C's user.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SlixmppClient } from '../../clients/slixmpp/driver.js';
import { removeTmpDirs } from '../support/identities.js';
import { freePort } from '../support/net.js';
import { killAll } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';
import { cliHome, startCliGateway, type CliGateway } from './support/gateway.js';
import { gatewayCommand, slixUser } from './support/slixmpp-users.js';

const T = 300_000;
const W = 60_000;
const bare = (jid: string): string => jid.split('/')[0]!;

interopSuite('e2e: find a friend of a friend through the FOAF directory, from slixmpp', ['slixmpp'], () => {
  const homes = [cliHome('tlsim-e2e-foaf-a'), cliHome('tlsim-e2e-foaf-b'), cliHome('tlsim-e2e-foaf-c')];
  const gws: CliGateway[] = [];
  const users: SlixmppClient[] = [];

  beforeAll(async () => {
    // One after the other: several vite-node starts at once on a loaded machine can outlast `status --json`'s wait.
    for (const home of homes) gws.push(await startCliGateway(home, await freePort()));
    for (const gw of gws) users.push(await slixUser(gw));
  }, T);

  afterAll(async () => {
    for (const u of users) await u.stop();
    await killAll();
    removeTmpDirs();
  });

  it("A's user finds C (whom B published) at distance 2 with B as voucher, adds C, and C's user is asked", async (ctx) => {
    ctx.onTestFailed(() => {
      for (const [i, gw] of gws.entries()) console.error(`--- ${'ABC'[i]} (tail) ---${gw.proc.tails(6_000)}`);
      for (const [i, u] of users.entries()) console.error(`--- ${'ABC'[i]}'s client ---\n${u.recent(40)}`);
    });
    const [alice, bob, carol] = users as [SlixmppClient, SlixmppClient, SlixmppClient];
    const [a, b, c] = gws.map((g) => g.status);
    const jid = (s: typeof a) => `${s!.fingerprint}@${s!.peerDomain}`;
    const run = (u: SlixmppClient, text: string, re: RegExp) => gatewayCommand(u, text, re, W);

    await run(carol, 'profile set nick carol-knits', /^Set nick/);
    await run(carol, 'profile set interest knitting, onions', /^Set interest/);
    await run(bob, 'profile set nick bob', /^Set nick/);
    // B and C know each other; B reads C's profile, then publishes C.
    await run(bob, `add ${c!.share} Carol`, /^Added /);
    await run(carol, `add ${b!.share} Bob`, /^(Added|Updated) /);
    expect(await run(bob, 'crawl', /^Crawled/)).toMatch(/^Crawled: 1 profile read/);
    expect(await run(bob, 'publish Carol', /^Published/)).toMatch(/^Published Carol/);
    // A knows B.
    await run(alice, `add ${b!.share} Bob`, /^Added /);
    await run(bob, `add ${a!.share} Alice`, /^(Added|Updated) /);
    expect(await run(alice, 'crawl', /^Crawled/)).toMatch(/^Crawled: [1-9]/);

    // The search service is in A's disco, and the data form finds C.
    const items = await alice.discoInfo('directory.localhost');
    expect(items.features).toEqual(expect.arrayContaining(['jabber:iq:search', 'jabber:x:data']));
    const found = await alice.search('directory.localhost', { nick: 'carol' });
    expect(found.form?.fields.map((f) => f.var)).toEqual(['FORM_TYPE', 'nick', 'name', 'interest', 'place', 'text']);
    expect(found.result?.items).toEqual([
      expect.objectContaining({ jid: jid(c), nick: 'carol-knits', share: c!.share, distance: '2', vouchers: 'Bob' }),
    ]);

    // Add C as clients do from a search result: a subscription to its JID. The request reaches C's user.
    const from = carol.mark();
    await alice.post({ cmd: 'presence', to: jid(c), type: 'subscribe' });
    const asked = await carol.nextSubscription((s) => bare(s.from) === jid(a) && s.type === 'subscribe', W, from);
    expect(asked.type).toBe('subscribe');
  }, T);
});
