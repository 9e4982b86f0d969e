// The FOAF crawler against hostile and awkward profiles (issue 13, stage 3): each is refused or capped with a clear
// log line and the crawl goes on; depth, the hourly rate, concurrent dials and staleness are honoured.
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Crawler, type CrawlSettings, type FetchResult } from '../../gateway/directory/crawler.js';
import { writeProfile, type KnownPerson } from '../../gateway/directory/profile-rdf.js';
import { directoryFixture, fp } from '../support/foaf.js';
import { removeTmpDirs } from '../support/identities.js';

afterAll(() => removeTmpDirs());

const [B, C, D, E] = [fp('b'), fp('c'), fp('d'), fp('e')];
const url = (who: string) => `http://${who.slice(0, 8)}.example:80/foaf`;
const doc = (who: string, nick: string, knows: KnownPerson[] = []) => writeProfile({ fingerprint: who, profileUrl: url(who), fields: { nick, interests: [] }, knows });
const SETTINGS: CrawlSettings = { depth: 2, perHour: 100, maxDials: 4, staleMs: 3_600_000 };

function setup(docs: Record<string, string | FetchResult>, settings: Partial<CrawlSettings> = {}, limits?: ConstructorParameters<typeof Crawler>[0]['limits'], now?: () => number) {
  const f = directoryFixture(now ? { now } : {});
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  const fetched: string[] = [];
  const answer = (key: string): FetchResult => {
    const d = docs[key];
    if (d === undefined) return { kind: 'none', reason: 'unreachable' };
    return typeof d === 'string' ? { kind: 'turtle', text: d } : d;
  };
  const crawler = new Crawler({
    store: f.store,
    accountId: f.account,
    self: () => f.self,
    fetchContact: async (who) => (fetched.push(who), answer(who)),
    fetchUrl: async (u) => (fetched.push(u), answer(u)),
    settings: () => ({ ...SETTINGS, ...settings }),
    log,
    ...(limits && { limits }),
  });
  const refusals = () => lines.filter((l) => l.msg === 'FOAF profile refused').map((l) => l.code);
  return { ...f, crawler, lines, fetched, refusals };
}

describe('FOAF crawler', () => {
  it('reads contacts, then whom they list through their profile URL, to depth 2 only', async () => {
    const t = setup({
      [B]: doc(B, 'bob', [{ fingerprint: C, nick: 'c-by-bob', profileUrl: url(C) }]),
      [url(C)]: doc(C, 'carol', [{ fingerprint: D, nick: 'dave', profileUrl: url(D) }]),
      [url(D)]: doc(D, 'dave'),
    });
    t.addContact(B, 'Bob');
    expect(await t.crawler.crawl()).toEqual({ fetched: 2, refused: 0, none: 0, deferred: 0 });
    expect(t.fetched).toEqual([B, url(C)]);
    const hits = t.directory.search({});
    expect(hits.map((h) => [h.nick, h.distance, h.source])).toEqual([['bob', 1, 'profile'], ['carol', 2, 'profile'], ['dave', 3, 'listed']]);
  });

  it.each([
    ['a 10 MB document', () => doc(B, 'x') + `# ${'x'.repeat(10 * 1024 * 1024)}\n`, 'too-large'],
    ['invalid Turtle', () => '@prefix foaf: <http://xmlns.com/foaf/0.1/> .\n<urn:tlsim:peer:x> foaf:nick "unterminated', 'invalid-turtle'],
    ['deep nesting', () => `@prefix f: <urn:f#>.\n<urn:tlsim:peer:${B}> a <http://xmlns.com/foaf/0.1/Person>; f:p ${'[ f:p '.repeat(30_000)}1${' ]'.repeat(30_000)}.`, 'too-many-triples'],
    ['10 000 knows edges', () => doc(B, 'x', Array.from({ length: 10_000 }, (_, i) => ({ fingerprint: i.toString(16).padStart(64, '0') }))), 'too-large'],
    ['a document about someone else', () => doc(E, 'impostor'), 'not-this-peer'],
  ])('refuses %s with a log line, and goes on to the next contact', async (_what, make, code) => {
    const t = setup({ [B]: make(), [C]: doc(C, 'carol') });
    t.addContact(B, 'Bob');
    t.addContact(C, 'Carol');
    const report = await t.crawler.crawl();
    expect(report).toMatchObject({ fetched: 1, refused: 1 });
    expect(t.refusals()).toEqual([code]);
    expect(t.directory.status(B)).toMatchObject({ status: 'refused' });
    expect(t.directory.search({ nick: 'carol' })).toHaveLength(1);
  });

  it('caps knows edges on their own: 10 000 within the size limit are refused as too many', async () => {
    const many = doc(B, 'x', Array.from({ length: 10_000 }, (_, i) => ({ fingerprint: i.toString(16).padStart(64, '0') })));
    const t = setup({ [B]: many }, {}, { maxBytes: 16 * 1024 * 1024, maxTriples: 100_000, maxKnows: 1000 });
    t.addContact(B, 'Bob');
    expect(await t.crawler.crawl()).toMatchObject({ refused: 1 });
    expect(t.refusals()).toEqual(['too-many-knows']);
    expect(t.store.foaf.vouches(t.account)).toEqual([]);
  });

  it('drops a self-loop and an edge back to us, and ends on a cycle without fetching anyone twice', async () => {
    const t = setup({
      [B]: doc(B, 'bob', [{ fingerprint: B }, { fingerprint: C, profileUrl: url(C) }]),
      [url(C)]: doc(C, 'carol', [{ fingerprint: B }, { fingerprint: fp('f') /* us */ }]),
    }, { depth: 5 });
    t.addContact(B, 'Bob');
    await t.crawler.crawl();
    expect(t.fetched).toEqual([B, url(C)]);
    expect(t.lines.some((l) => l.msg === 'FOAF edge dropped' && /self-loop/.test(String(l.reason)))).toBe(true);
    const hits = t.directory.search({});
    expect(hits.map((h) => [h.fingerprint, h.distance])).toEqual([[B, 1], [C, 2]]);
    expect(t.store.foaf.vouches(t.account).some((v) => v.subject === t.self)).toBe(false);
  });

  it('a reference peer has no profile: recorded as such, never guessed', async () => {
    const t = setup({ [B]: { kind: 'none', reason: 'a reference peer (tlsd): it has no profile' } });
    t.addContact(B, 'Bob');
    expect(await t.crawler.crawl()).toMatchObject({ none: 1, fetched: 0 });
    expect(t.directory.status(B)).toMatchObject({ status: 'none', reason: 'a reference peer (tlsd): it has no profile' });
    expect(t.directory.search({})).toEqual([]);
  });

  it('keeps to the hourly rate and to N dials at once, and refetches only what is stale', async () => {
    const contacts = [B, C, D, E];
    let now = Date.now();
    let open = 0;
    let most = 0;
    const t = setup({}, {}, undefined, () => now);
    for (const c of contacts) t.addContact(c, c.slice(0, 4));
    const crawler = new Crawler({
      store: t.store,
      accountId: t.account,
      self: () => t.self,
      fetchContact: async (who) => {
        most = Math.max(most, ++open);
        await new Promise((r) => setTimeout(r, 20));
        open--;
        return { kind: 'turtle', text: doc(who, who.slice(0, 4)) };
      },
      fetchUrl: async () => ({ kind: 'none', reason: 'x' }),
      settings: () => ({ depth: 1, perHour: 3, maxDials: 2, staleMs: 10 * 60_000 }),
      log: pino({ level: 'silent' }),
      now: () => now,
    });
    expect(await crawler.crawl()).toMatchObject({ fetched: 3, deferred: 1 });
    expect(most).toBe(2);
    now += 3_600_000; // the next hour: the one left is due, the others are stale too (10 minutes)
    expect(await crawler.crawl()).toMatchObject({ fetched: 3, deferred: 1 });
    now += 60_000; // a minute later: what was read is fresh; only the one left over is fetched... within the budget
    expect(await crawler.crawl()).toMatchObject({ fetched: 0, deferred: 1 });
  });
});
