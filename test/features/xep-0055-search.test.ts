// Find people dialogues (XEP-0055 on directory.<domain>, issue 13): the service is listed by the one disco path, gives
// its legacy fields and its form, and answers both with people from crawled profiles, nearest first, with share string.
import { afterAll, describe, expect, it } from 'vitest';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import { directoryFixture, fp, type DirectoryFixture } from '../support/foaf.js';
import { removeTmpDirs } from '../support/identities.js';
import { stanzaErrorOf, type TestGateway } from '../support/xmpp-harness.js';

const SEARCH = 'jabber:iq:search';
const XDATA = 'jabber:x:data';
const [BOB, CAROL, DAN] = [fp('b'), fp('c'), fp('d')];
const share = (who: string) => `tlsim://${who}@127.0.0.1:${parseInt(who.slice(0, 2), 16) + 20000}`;

/** A contact Bob who published Carol and Dan; Dan also listed by Carol, so he is one hop further but twice vouched. */
function graph(rank: 'distance' | 'vouchers' = 'distance'): DirectoryFixture {
  const f = directoryFixture({ rank });
  f.addContact(BOB, 'Bob');
  f.store.foaf.recordFetch(f.account, { fingerprint: BOB, status: 'profile', nick: 'bob', interests: [] }, [
    { fingerprint: CAROL, nick: 'carol', share: share(CAROL), interests: [] },
  ]);
  f.store.foaf.recordFetch(f.account, { fingerprint: CAROL, status: 'profile', nick: 'carol', name: 'Carol Ann', interests: ['knitting'], place: 'Lyon', share: share(CAROL) }, [
    { fingerprint: DAN, nick: 'dan the carol fan', share: share(DAN), interests: [] },
  ]);
  return f;
}

const form = (fields: Record<string, string>) =>
  `<query xmlns='${SEARCH}'><x xmlns='${XDATA}' type='submit'><field var='FORM_TYPE' type='hidden'><value>${SEARCH}</value></field>${Object.entries(fields)
    .map(([k, v]) => `<field var='${k}'><value>${v}</value></field>`)
    .join('')}</x></query>`;

function rows(res: import('../../gateway/xmpp/xml/element.js').Element): Array<Record<string, string>> {
  const x = res.getChild('query', SEARCH)!.getChild('x', XDATA)!;
  return x.getChildren('item').map((item) => Object.fromEntries(item.getChildren('field').map((f) => [f.attr('var')!, f.getChildText('value') ?? ''])));
}

describe('XEP-0055 search on the FOAF directory', () => {
  let gw: TestGateway;
  gatewayPerTest(
    (d) => ({ gw } = d),
    () => ({ network: graph().network }),
  );
  afterAll(() => removeTmpDirs());
  const service = 'directory.localhost';

  it('is listed in the server\'s disco items and says it searches, with forms', async () => {
    const me = await gw.login();
    const items = (await me.iq(`<query xmlns='http://jabber.org/protocol/disco#items'/>`, { to: gw.domain })).getChild('query')!.getChildren('item');
    expect(items.map((i) => i.attr('jid'))).toContain(service);
    const info = (await me.iq(`<query xmlns='http://jabber.org/protocol/disco#info'/>`, { to: service })).getChild('query')!;
    expect(info.getChild('identity')!.attrs).toMatchObject({ category: 'directory', type: 'user' });
    expect(info.getChildren('feature').map((x) => x.attr('var'))).toEqual(expect.arrayContaining([SEARCH, XDATA]));
  });

  it('gives legacy fields and a form with nick, name, interest, place and free text', async () => {
    const me = await gw.login();
    const q = (await me.iq(`<query xmlns='${SEARCH}'/>`, { to: service })).getChild('query', SEARCH)!;
    for (const el of ['instructions', 'first', 'last', 'nick', 'email']) expect(q.getChild(el), el).toBeDefined();
    const fields = q.getChild('x', XDATA)!.getChildren('field').map((x) => x.attr('var'));
    expect(fields).toEqual(['FORM_TYPE', 'nick', 'name', 'interest', 'place', 'text']);
  });

  it('the form finds Carol at distance 2 vouched by Bob, with her share string and JID', async () => {
    const me = await gw.login();
    const res = await me.iq(form({ nick: 'CAR' }), { type: 'set', to: service });
    expect(rows(res)).toEqual([
      { jid: `${CAROL}@peers.localhost`, nick: 'carol', name: 'Carol Ann', share: share(CAROL), distance: '2', vouchers: 'Bob', interest: 'knitting', place: 'Lyon' },
      // Dan's nick contains "car" too; he is a hop further.
      expect.objectContaining({ jid: `${DAN}@peers.localhost`, distance: '3', vouchers: expect.stringMatching(/^cccccccc/) }),
    ]);
    expect(rows(await me.iq(form({ interest: 'knit', place: 'lyon' }), { type: 'set', to: service })).map((r) => r.nick)).toEqual(['carol']);
    expect(rows(await me.iq(form({ text: 'fan' }), { type: 'set', to: service })).map((r) => r.nick)).toEqual(['dan the carol fan']);
    expect(rows(await me.iq(form({ nick: 'nobody' }), { type: 'set', to: service }))).toEqual([]);
  });

  it('legacy fields search too, and an empty search is a bad request', async () => {
    const me = await gw.login();
    const res = await me.iq(`<query xmlns='${SEARCH}'><first>carol</first></query>`, { type: 'set', to: service });
    const items = res.getChild('query', SEARCH)!.getChildren('item');
    expect(items.map((i) => [i.attr('jid'), i.getChildText('nick'), i.getChildText('first'), i.getChildText('last')])).toEqual([[`${CAROL}@peers.localhost`, 'carol', 'Carol', 'Ann']]);
    expect(stanzaErrorOf(await me.iq(`<query xmlns='${SEARCH}'/>`, { type: 'set', to: service }))).toBe('bad-request');
  });

  it.each([
    ['distance', ['carol', 'dan the carol fan']],
    ['vouchers', ['dan the carol fan', 'carol']],
  ] as const)('ranks by directory.rank = "%s"', async (mode, order) => {
    // Bob lists Carol and Erin (2 hops, Carol with 1 voucher); both list Dan (3 hops, 2 vouchers).
    const g = graph(mode);
    const ERIN = fp('e');
    g.store.foaf.recordFetch(g.account, { fingerprint: BOB, status: 'profile', nick: 'bob', interests: [] }, [
      { fingerprint: CAROL, nick: 'carol', interests: [] },
      { fingerprint: ERIN, nick: 'erin', interests: [] },
    ]);
    g.store.foaf.recordFetch(g.account, { fingerprint: ERIN, status: 'profile', nick: 'erin', interests: [] }, [{ fingerprint: DAN, nick: 'dan', interests: [] }]);
    const hits = g.directory.search({ text: 'car' });
    expect(hits.map((r) => r.nick)).toEqual(order);
    expect(hits.find((r) => r.fingerprint === DAN)).toMatchObject({ distance: 3, vouchers: [CAROL, ERIN] });
  });
});
