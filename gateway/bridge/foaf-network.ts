// The FOAF directory of one account over the real network (issue 13): the profile exchange on gateway links, the
// crawler (links for contacts, GET /foaf through the dialers for the people they list) and the directory itself.
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';
import { Crawler, type CrawlSettings } from '../directory/crawler.js';
import { Directory } from '../directory/directory.js';
import { fetchFoaf } from '../directory/http.js';
import type { RankMode } from '../directory/rank.js';
import type { Dialer, PeerAddress, PeerManager } from './peer-protocol.js';
import { ProfileLink } from './profile-link.js';

export const DEFAULT_CRAWL: CrawlSettings = { depth: 2, perHour: 60, maxDials: 4, staleMs: 24 * 3_600_000 };

export interface FoafSettings {
  rank?: () => RankMode;
  /** Where GET /foaf serves our profile (our onion's second port), when it does. */
  profileUrl?: () => string | undefined;
  crawl?: () => CrawlSettings;
  /** Crawl when a gateway contact comes online, if its profile is stale (default true). */
  autoCrawl?: boolean;
  /** How long a profile request on a link may wait (tests shorten it). */
  timeoutMs?: number;
}

export interface FoafNetworkOptions {
  store: Store;
  accountId: number;
  peers: PeerManager;
  log: Logger;
  self: () => { fingerprint: string; share?: string };
  mayAsk: (fingerprint: string) => boolean;
  dialerFor: (address: PeerAddress) => Dialer;
  settings?: FoafSettings;
}

/** After a gateway contact's link comes up, a crawl starts this much later (several links coming up share one). */
const CRAWL_DEBOUNCE_MS = 2_000;

export class FoafNetwork {
  readonly directory: Directory;
  readonly crawler: Crawler;
  private readonly profiles: ProfileLink;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: FoafNetworkOptions) {
    const s = o.settings ?? {};
    const log = o.log.child({ component: 'foaf' });
    const canDial = (fp: string) => o.store.contacts.get(o.accountId, fp)?.address !== undefined;
    this.profiles = new ProfileLink({ peers: o.peers, log, turtle: () => this.directory.turtle(), mayAsk: o.mayAsk, canDial, timeoutMs: s.timeoutMs });
    this.crawler = new Crawler({
      store: o.store,
      accountId: o.accountId,
      self: () => o.self().fingerprint,
      fetchContact: (fp) => this.profiles.fetch(fp),
      fetchUrl: (url, max) => fetchFoaf(url, max, (host, port) => o.dialerFor({ host, port })({ host, port })),
      settings: s.crawl ?? (() => DEFAULT_CRAWL),
      log,
    });
    this.directory = new Directory({ store: o.store, accountId: o.accountId, self: o.self, profileUrl: s.profileUrl, rank: s.rank, crawl: () => this.crawler.crawl() });
  }

  /** A gateway contact is online: crawl soon if its profile is stale. */
  linkUp(fp: string): void {
    if (this.o.settings?.autoCrawl === false || this.timer) return;
    const p = this.o.store.foaf.person(this.o.accountId, fp);
    const staleMs = (this.o.settings?.crawl ?? (() => DEFAULT_CRAWL))().staleMs;
    if (p?.fetchedAt && Date.now() - p.fetchedAt.getTime() < staleMs) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.crawler.crawl().catch((err: unknown) => this.o.log.error({ err }, 'FOAF crawl failed'));
    }, CRAWL_DEBOUNCE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
