// The FOAF directory's tables (issue 13): the account's own profile, the contacts it publishes as foaf:knows,
// and the people the crawler learned of, with who vouched for whom and when each profile was fetched.
import type { AccountId } from './accounts.js';
import { checkFingerprint, toDate, withForeignKey, type StoreContext } from './common.js';
import { StoreError } from './errors.js';

/** The fields a person's profile has, own or crawled. */
export interface ProfileFields {
  readonly nick?: string;
  readonly name?: string;
  /** SHA-1 (hex) of "mailto:<address>": the address itself is never kept nor published. */
  readonly mboxSha1sum?: string;
  readonly interests: readonly string[];
  readonly place?: string;
  readonly description?: string;
}

export type PersonStatus = 'profile' | 'none' | 'refused' | 'listed';

export interface StoredPerson extends ProfileFields {
  readonly fingerprint: string;
  readonly status: PersonStatus;
  readonly share?: string;
  /** Where its profile is served over HTTP (`http://<onion>:<port>/foaf`), when it said so. */
  readonly profileUrl?: string;
  /** Why it was refused (status 'refused') or has none ('none'). */
  readonly reason?: string;
  /** When its own profile (or the answer "none") was fetched; undefined for 'listed'. */
  readonly fetchedAt?: Date;
}

export interface Vouch {
  readonly voucher: string;
  readonly subject: string;
  readonly seenAt: Date;
}

/** Longest value of one profile field, in characters; an interest list holds at most MAX_INTERESTS. */
export const MAX_FIELD_LENGTH = 1024;
export const MAX_INTERESTS = 32;

interface ProfileRow {
  nick: string | null;
  name: string | null;
  mbox_sha1sum: string | null;
  interests: string;
  place: string | null;
  description: string | null;
}

interface PersonRow extends ProfileRow {
  fingerprint: string;
  status: PersonStatus;
  share: string | null;
  profile_url: string | null;
  reason: string | null;
  fetched_at: number | null;
}

const opt = (v: string | null): string | undefined => (v === null || v === '' ? undefined : v);

function fields(r: ProfileRow): ProfileFields {
  let interests: string[] = [];
  try {
    const parsed: unknown = JSON.parse(r.interests);
    if (Array.isArray(parsed)) interests = parsed.filter((i): i is string => typeof i === 'string');
  } catch {
    // A row written by this code is always JSON; anything else reads as no interests.
  }
  return {
    ...(opt(r.nick) && { nick: r.nick! }),
    ...(opt(r.name) && { name: r.name! }),
    ...(opt(r.mbox_sha1sum) && { mboxSha1sum: r.mbox_sha1sum! }),
    interests,
    ...(opt(r.place) && { place: r.place! }),
    ...(opt(r.description) && { description: r.description! }),
  };
}

const toPerson = (r: PersonRow): StoredPerson => ({
  fingerprint: r.fingerprint,
  status: r.status,
  ...fields(r),
  ...(opt(r.share) && { share: r.share! }),
  ...(opt(r.profile_url) && { profileUrl: r.profile_url! }),
  ...(opt(r.reason) && { reason: r.reason! }),
  ...(r.fetched_at !== null && { fetchedAt: toDate(r.fetched_at) }),
});

function checkFields(f: ProfileFields): void {
  for (const [key, value] of Object.entries(f)) {
    const values = Array.isArray(value) ? (value as string[]) : [value as string | undefined];
    for (const v of values) {
      if (v !== undefined && v.length > MAX_FIELD_LENGTH) throw new StoreError('too-large', `profile ${key} is longer than ${MAX_FIELD_LENGTH} characters`);
    }
  }
  if (f.interests.length > MAX_INTERESTS) throw new StoreError('too-large', `at most ${MAX_INTERESTS} interests`);
}

const COLS = 'nick, name, mbox_sha1sum, interests, place, description';
const PERSON_COLS = `fingerprint, status, ${COLS}, share, profile_url, reason, fetched_at`;
const row = (f: ProfileFields) => [f.nick ?? null, f.name ?? null, f.mboxSha1sum ?? null, JSON.stringify(f.interests), f.place ?? null, f.description ?? null] as const;

export class Foaf {
  constructor(private readonly ctx: StoreContext) {}

  private get db() {
    return this.ctx.db;
  }

  /** The account's own profile (empty fields when never set). */
  profile(accountId: AccountId): ProfileFields {
    const r = this.db.prepare<[number], ProfileRow>(`SELECT ${COLS} FROM foaf_profile WHERE account_id = ?`).get(accountId);
    return r ? fields(r) : { interests: [] };
  }

  setProfile(accountId: AccountId, f: ProfileFields): ProfileFields {
    checkFields(f);
    withForeignKey('no-account', `no account with id ${accountId}`, () =>
      this.db
        .prepare(
          `INSERT INTO foaf_profile (account_id, ${COLS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (account_id) DO UPDATE SET nick = excluded.nick, name = excluded.name, mbox_sha1sum = excluded.mbox_sha1sum,
             interests = excluded.interests, place = excluded.place, description = excluded.description, updated_at = excluded.updated_at`,
        )
        .run(accountId, ...row(f), this.ctx.now()),
    );
    return this.profile(accountId);
  }

  /** Contacts listed as foaf:knows: only those the user published, and only while they are contacts. */
  published(accountId: AccountId): string[] {
    return this.db
      .prepare<[number], { fingerprint: string }>(
        `SELECT p.fingerprint FROM foaf_public p JOIN contacts c USING (account_id, fingerprint)
         WHERE p.account_id = ? AND c.state = 'contact' ORDER BY p.fingerprint`,
      )
      .all(accountId)
      .map((r) => r.fingerprint);
  }

  /** Marks a contact public (true) or private again; a peer that is not a contact is a StoreError. */
  setPublic(accountId: AccountId, fingerprint: string, published: boolean): boolean {
    checkFingerprint(fingerprint);
    if (!published) return this.db.prepare('DELETE FROM foaf_public WHERE account_id = ? AND fingerprint = ?').run(accountId, fingerprint).changes > 0;
    return withForeignKey('no-contact', 'not a contact', () =>
      this.db.prepare('INSERT OR IGNORE INTO foaf_public (account_id, fingerprint, published_at) VALUES (?, ?, ?)').run(accountId, fingerprint, this.ctx.now()).changes > 0,
    );
  }

  person(accountId: AccountId, fingerprint: string): StoredPerson | undefined {
    const r = this.db.prepare<[number, string], PersonRow>(`SELECT ${PERSON_COLS} FROM foaf_people WHERE account_id = ? AND fingerprint = ?`).get(accountId, fingerprint);
    return r && toPerson(r);
  }

  people(accountId: AccountId): StoredPerson[] {
    return this.db.prepare<[number], PersonRow>(`SELECT ${PERSON_COLS} FROM foaf_people WHERE account_id = ?`).all(accountId).map(toPerson);
  }

  /**
   * Records what a fetch of `fingerprint` gave: its profile and the people it lists (replacing what it listed
   * before), or 'none'/'refused' with the reason (what it listed before no longer counts). One transaction.
   */
  recordFetch(accountId: AccountId, p: Omit<StoredPerson, 'fetchedAt'>, knows: ReadonlyArray<Omit<StoredPerson, 'status' | 'fetchedAt'>> = []): void {
    checkFingerprint(p.fingerprint);
    checkFields(p);
    const now = this.ctx.now();
    const upsert = this.db.prepare(
      `INSERT INTO foaf_people (account_id, ${PERSON_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (account_id, fingerprint) DO UPDATE SET status = excluded.status, nick = excluded.nick, name = excluded.name,
         mbox_sha1sum = excluded.mbox_sha1sum, interests = excluded.interests, place = excluded.place, description = excluded.description,
         share = coalesce(excluded.share, share), profile_url = coalesce(excluded.profile_url, profile_url), reason = excluded.reason,
         fetched_at = excluded.fetched_at`,
    );
    // A listed person keeps what its own profile said: a voucher's entry only fills in what is not known yet.
    const listed = this.db.prepare(
      `INSERT INTO foaf_people (account_id, ${PERSON_COLS}) VALUES (?, ?, 'listed', ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)
       ON CONFLICT (account_id, fingerprint) DO UPDATE SET nick = coalesce(nick, excluded.nick), name = coalesce(name, excluded.name),
         share = coalesce(share, excluded.share), profile_url = coalesce(profile_url, excluded.profile_url)`,
    );
    const statusOnly = this.db.prepare(
      `INSERT INTO foaf_people (account_id, fingerprint, status, reason, fetched_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (account_id, fingerprint) DO UPDATE SET status = excluded.status, reason = excluded.reason, fetched_at = excluded.fetched_at`,
    );
    const vouch = this.db.prepare('INSERT OR REPLACE INTO foaf_vouches (account_id, voucher, subject, seen_at) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      // 'none' or 'refused': what its vouchers said of it stays (it is still the person they listed).
      if (p.status === 'profile') upsert.run(accountId, p.fingerprint, p.status, ...row(p), p.share ?? null, p.profileUrl ?? null, p.reason ?? null, now);
      else statusOnly.run(accountId, p.fingerprint, p.status, p.reason ?? null, now);
      this.db.prepare('DELETE FROM foaf_vouches WHERE account_id = ? AND voucher = ?').run(accountId, p.fingerprint);
      for (const k of knows) {
        checkFingerprint(k.fingerprint);
        checkFields(k);
        listed.run(accountId, k.fingerprint, ...row(k), k.share ?? null, k.profileUrl ?? null);
        vouch.run(accountId, p.fingerprint, k.fingerprint, now);
      }
    })();
  }

  vouches(accountId: AccountId): Vouch[] {
    return this.db
      .prepare<[number], { voucher: string; subject: string; seen_at: number }>('SELECT voucher, subject, seen_at FROM foaf_vouches WHERE account_id = ?')
      .all(accountId)
      .map((r) => ({ voucher: r.voucher, subject: r.subject, seenAt: toDate(r.seen_at) }));
  }
}
