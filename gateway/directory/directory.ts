// The FOAF directory of one account (issue 13): its own profile (edited by commands and the vCard), the contacts
// it publishes as foaf:knows (none unless the user says so), the Turtle it serves, and search over what was crawled.
import { createHash } from 'node:crypto';
import type {
  DirectoryNetwork,
  DirectoryQuery,
  DirectoryResult,
  OwnProfile,
  PeerId,
  ProfileKey,
} from '../bridge/contract.js';
import { formatShareString, parseAddress, parseShareString } from '../bridge/share-string.js';
import { StoreError, type ProfileFields, type Store, type StoredPerson } from '../store/index.js';
import { StanzaError } from '../xmpp/errors.js';
import { writeProfile, type KnownPerson } from './profile-rdf.js';
import { compareResults, reach, type RankMode } from './rank.js';

export interface DirectoryOptions {
  store: Store;
  accountId: number;
  /** Our fingerprint and share string, as the network knows them now. */
  self: () => { fingerprint: string; share?: string };
  /** Where our profile is served over HTTP (GET /foaf behind the onion), when it is. */
  profileUrl?: () => string | undefined;
  /** The configured ranking (directory.rank); read at each search, so a reload applies. */
  rank?: () => RankMode;
}

/** Most results one search returns. */
export const MAX_RESULTS = 50;

export class Directory implements DirectoryNetwork {
  constructor(private readonly opts: DirectoryOptions) {}

  private get acct(): number {
    return this.opts.accountId;
  }

  profile(): OwnProfile {
    const self = this.opts.self();
    return { ...this.opts.store.foaf.profile(this.acct), ...self, published: this.opts.store.foaf.published(this.acct) };
  }

  setField(key: ProfileKey, value: string): OwnProfile {
    const v = value.replace(/\s+/g, ' ').trim();
    const { interests, ...rest } = this.opts.store.foaf.profile(this.acct);
    const next: Record<string, unknown> = { ...rest, interests };
    if (key === 'interest') next.interests = v ? [...new Set(v.split(',').map((i) => i.trim()).filter(Boolean))] : [];
    else if (key === 'email') next.mboxSha1sum = v ? createHash('sha1').update(`mailto:${v}`).digest('hex') : undefined;
    else next[key] = v || undefined;
    try {
      this.opts.store.foaf.setProfile(this.acct, next as unknown as ProfileFields);
    } catch (err) {
      if (err instanceof StoreError && (err.code === 'too-large' || err.code === 'too-many')) throw new StanzaError('not-acceptable', err.message);
      throw err;
    }
    return this.profile();
  }

  setPublic(id: PeerId, published: boolean): void {
    const c = this.opts.store.contacts.get(this.acct, id);
    if (published && c?.state !== 'contact') throw new StanzaError('item-not-found', 'only a contact can be published');
    this.opts.store.foaf.setPublic(this.acct, id, published);
  }

  /** Our profile with the published contacts, each with what we know of them (their own nick, else our name). */
  turtle(): string {
    const self = this.opts.self();
    const { store } = this.opts;
    const knows: KnownPerson[] = store.foaf.published(this.acct).map((fp) => {
      const c = store.contacts.get(this.acct, fp);
      const p = store.foaf.person(this.acct, fp);
      const share = checkedShare(fp, p?.share) ?? (c?.address ? formatShareString({ fingerprint: fp, ...parseAddress(c.address) }) : undefined);
      return {
        fingerprint: fp,
        ...defined({ nick: p?.nick ?? c?.name, name: p?.name, share, profileUrl: p?.profileUrl }),
      };
    });
    return writeProfile({
      fingerprint: self.fingerprint,
      ...defined({ share: self.share, profileUrl: this.opts.profileUrl?.() }),
      fields: store.foaf.profile(this.acct),
      knows,
    });
  }

  search(query: DirectoryQuery, max = MAX_RESULTS): DirectoryResult[] {
    const { store } = this.opts;
    const self = this.opts.self().fingerprint;
    const contacts = store.contacts.list(this.acct, 'contact').map((c) => c.fingerprint);
    const reached = reach(self, contacts, store.foaf.vouches(this.acct));
    const results: DirectoryResult[] = [];
    for (const p of store.foaf.people(this.acct)) {
      const r = reached.get(p.fingerprint);
      if (!r || !matches(p, query)) continue;
      results.push({
        fingerprint: p.fingerprint,
        ...defined({ nick: p.nick, name: p.name, mboxSha1sum: p.mboxSha1sum, place: p.place, description: p.description, share: checkedShare(p.fingerprint, p.share) }),
        interests: p.interests,
        distance: r.distance,
        vouchers: r.vouchers,
        source: p.status === 'profile' ? 'profile' : 'listed',
      });
    }
    return results.sort(compareResults(this.opts.rank?.() ?? 'distance')).slice(0, max);
  }

  status(id: PeerId): ReturnType<DirectoryNetwork['status']> {
    const p = this.opts.store.foaf.person(this.acct, id);
    return p && { status: p.status, ...defined({ reason: p.reason, fetchedAt: p.fetchedAt }) };
  }
}

/** A share string as a profile gave it, kept only when it is one and names that very peer. */
export function checkedShare(fingerprint: string, share: string | undefined): string | undefined {
  if (!share) return undefined;
  try {
    return parseShareString(share).fingerprint === fingerprint ? share : undefined;
  } catch {
    return undefined;
  }
}

const norm = (s: string): string => s.normalize('NFKC').toLowerCase();

/** Every field asked must match (case-insensitive substring); `text` matches any field or a fingerprint prefix. */
export function matches(p: StoredPerson, q: DirectoryQuery): boolean {
  const has = (value: string | undefined, wanted: string | undefined): boolean => !wanted?.trim() || (value !== undefined && norm(value).includes(norm(wanted.trim())));
  const anyInterest = (wanted: string | undefined): boolean => !wanted?.trim() || p.interests.some((i) => has(i, wanted));
  if (!has(p.nick, q.nick) || !has(p.name, q.name) || !has(p.place, q.place) || !anyInterest(q.interest)) return false;
  const text = q.text?.trim();
  if (!text) return true;
  const all = [p.nick, p.name, p.place, p.description, ...p.interests];
  return all.some((v) => has(v, text)) || p.fingerprint.startsWith(text.toLowerCase());
}

function defined<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as never;
}
