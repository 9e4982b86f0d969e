// The FOAF crawler (issue 13): reads the profiles of the user's contacts, then of the people they list, to a depth,
// at most so many fetches an hour and so many dials at once, and refetches what is stale. A hostile document (too
// large, not Turtle, too many knows edges, self-loops, cycles) is refused with one clear log line; the crawl goes on.
import { ProgressLog } from '../bridge/progress.js';
import type { Logger } from 'pino';
import type { Store, StoredPerson } from '../store/index.js';
import { checkedShare } from './directory.js';
import { parseProfile, ProfileRefused, PROFILE_LIMITS, type ParsedProfile, type ProfileLimits } from './profile-rdf.js';

/** What one fetch gave: the document's text, or why there is none (a reference peer, unreachable, no answer). */
export type FetchResult = { kind: 'turtle'; text: string } | { kind: 'none'; reason: string };

export interface CrawlSettings {
  /** Hops fetched: 1 = contacts only, 2 = also the people they list (default), ... */
  readonly depth: number;
  /** Most fetches in any hour. */
  readonly perHour: number;
  /** Most fetches (dials) at once. */
  readonly maxDials: number;
  /** A profile older than this is fetched again (ms). */
  readonly staleMs: number;
}

export interface CrawlerOptions {
  store: Store;
  accountId: number;
  /** Our fingerprint: nobody's edge to us is followed. */
  self: () => string;
  /** A contact's profile over its link. */
  fetchContact: (fingerprint: string) => Promise<FetchResult>;
  /** Anyone's profile at the URL its voucher gave (GET /foaf behind its onion); at most limits.maxBytes are read. */
  fetchUrl: (url: string, maxBytes: number) => Promise<FetchResult>;
  settings: () => CrawlSettings;
  log: Logger;
  limits?: ProfileLimits;
  now?: () => number;
}

export interface CrawlReport {
  fetched: number;
  refused: number;
  none: number;
  /** People not fetched because the hourly budget ran out. */
  deferred: number;
}

const HOUR_MS = 3_600_000;

export class Crawler {
  /** When each fetch of the last hour started (the hourly budget). */
  private readonly recent: number[] = [];
  private running: Promise<CrawlReport> | undefined;

  constructor(private readonly opts: CrawlerOptions) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** One pass over the graph; a pass already running is joined, not doubled. */
  crawl(): Promise<CrawlReport> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<CrawlReport> {
    const { store, accountId } = this.opts;
    const settings = this.opts.settings();
    const self = this.opts.self();
    const report: CrawlReport = { fetched: 0, refused: 0, none: 0, deferred: 0 };
    const contacts = new Set(store.contacts.list(accountId, 'contact').map((c) => c.fingerprint));
    const visited = new Set<string>([self]);
    let level = [...contacts];
    for (const fp of level) visited.add(fp);
    for (let hop = 1; hop <= settings.depth && level.length > 0; hop++) {
      await this.fetchAll(level, settings, contacts, report, hop);
      const next: string[] = [];
      for (const fp of level) {
        for (const subject of this.listedBy(fp)) {
          if (visited.has(subject)) {
            if (subject !== self) this.opts.log.debug({ peer: short(fp), listed: short(subject) }, 'already visited (a cycle or a shared contact): not followed again');
            continue;
          }
          visited.add(subject);
          next.push(subject);
        }
      }
      level = next;
    }
    this.opts.log.info({ ...report }, 'FOAF crawl done');
    return report;
  }

  private listedBy(fp: string): string[] {
    return this.opts.store.foaf
      .vouches(this.opts.accountId)
      .filter((v) => v.voucher === fp)
      .map((v) => v.subject);
  }

  /** Fetches the stale ones of `level`, at most maxDials at once, within the hourly budget. */
  private async fetchAll(level: string[], s: CrawlSettings, contacts: Set<string>, report: CrawlReport, hop: number): Promise<void> {
    const due = level.filter((fp) => this.isStale(this.opts.store.foaf.person(this.opts.accountId, fp), s));
    if (due.length === 0) return;
    const progress = new ProgressLog(this.opts.log, `FOAF crawl, hop ${hop}`, due.length);
    let i = 0;
    let done = 0;
    const worker = async () => {
      for (let fp = due[i++]; fp !== undefined; fp = due[i++]) {
        if (!this.takeBudget(s.perHour)) {
          report.deferred++;
          continue;
        }
        await this.fetchOne(fp, contacts.has(fp), report);
        progress.update(++done);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(s.maxDials, due.length)) }, worker));
    progress.end(`FOAF crawl, hop ${hop}: ${done} of ${due.length} profiles asked for`);
    if (report.deferred > 0) this.opts.log.info({ deferred: report.deferred, perHour: s.perHour }, 'FOAF crawl: hourly limit reached; the rest waits');
  }

  private isStale(p: StoredPerson | undefined, s: CrawlSettings): boolean {
    return p?.fetchedAt === undefined || this.now() - p.fetchedAt.getTime() >= s.staleMs;
  }

  private takeBudget(perHour: number): boolean {
    const now = this.now();
    while (this.recent.length > 0 && now - this.recent[0]! >= HOUR_MS) this.recent.shift();
    if (this.recent.length >= perHour) return false;
    this.recent.push(now);
    return true;
  }

  private async fetchOne(fp: string, isContact: boolean, report: CrawlReport): Promise<void> {
    const { store, accountId, log } = this.opts;
    const limits = this.opts.limits ?? PROFILE_LIMITS;
    const known = store.foaf.person(accountId, fp);
    let got: FetchResult;
    if (isContact) got = await this.opts.fetchContact(fp);
    else if (known?.profileUrl) got = await this.opts.fetchUrl(known.profileUrl, limits.maxBytes);
    else return; // Known only from its vouchers, who gave no address for its profile: nothing to fetch.
    if (got.kind === 'none') {
      report.none++;
      log.info({ peer: short(fp), reason: got.reason }, 'no FOAF profile');
      store.foaf.recordFetch(accountId, { fingerprint: fp, status: 'none', interests: [], reason: got.reason });
      return;
    }
    let parsed: ParsedProfile;
    try {
      parsed = parseProfile(got.text, fp, limits);
    } catch (err) {
      if (!(err instanceof ProfileRefused)) throw err;
      report.refused++;
      log.warn({ peer: short(fp), code: err.code, reason: err.message }, 'FOAF profile refused');
      store.foaf.recordFetch(accountId, { fingerprint: fp, status: 'refused', interests: [], reason: err.message });
      return;
    }
    for (const why of parsed.dropped) log.info({ peer: short(fp), reason: why }, 'FOAF edge dropped');
    report.fetched++;
    const self = this.opts.self();
    const knows = parsed.knows.filter((k) => k.fingerprint !== self).map((k) => ({ ...k, interests: [], ...withShare(k.fingerprint, k.share) }));
    store.foaf.recordFetch(accountId, { fingerprint: fp, status: 'profile', ...parsed.fields, ...withShare(fp, parsed.share), ...(parsed.profileUrl && { profileUrl: parsed.profileUrl }) }, knows);
  }
}

/** The share string only when it is one and names that peer; otherwise the field is left out. */
function withShare(fp: string, share: string | undefined): { share?: string } {
  const ok = checkedShare(fp, share);
  return ok ? { share: ok } : { share: undefined };
}

const short = (fp: string): string => fp.slice(0, 12);
