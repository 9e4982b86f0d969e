// FOAF profiles as Turtle (issue 13): written with n3's Writer and read with n3's Parser, never by hand; the
// reader refuses hostile documents (size, syntax, too many triples or knows edges, not the peer we asked).
// FOAF: http://xmlns.com/foaf/spec/ ; Turtle: https://www.w3.org/TR/turtle/ ; our terms: README "Find people".
import { DataFactory, Parser, Writer, type Quad, type Term } from 'n3';
import type { ProfileFields } from '../store/index.js';
import { MAX_FIELD_LENGTH, MAX_INTERESTS } from '../store/index.js';

const { namedNode, literal, quad } = DataFactory;

export const FOAF = 'http://xmlns.com/foaf/0.1/';
export const RDF_TYPE = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type';
export const RDFS_LABEL = 'http://www.w3.org/2000/01/rdf-schema#label';
export const DCT_DESCRIPTION = 'http://purl.org/dc/terms/description';
/** Our small vocabulary: a person's tlsim address. Names only, never dereferenced. */
export const TLSIM = 'urn:tlsim:vocab#';
/** The IRI of a tlsim identity: stable as long as its certificate (a new certificate is a new peer). */
export const PEER_IRI_PREFIX = 'urn:tlsim:peer:';

export const peerIri = (fingerprint: string): string => `${PEER_IRI_PREFIX}${fingerprint}`;

/** A person another profile lists in foaf:knows, with what that profile says of them. */
export interface KnownPerson {
  readonly fingerprint: string;
  readonly nick?: string;
  readonly name?: string;
  readonly share?: string;
  readonly profileUrl?: string;
}

export interface ProfileDocument {
  readonly fingerprint: string;
  readonly share?: string;
  /** Where this profile is served over HTTP (`http://<onion>:<port>/foaf`), for crawlers beyond the links. */
  readonly profileUrl?: string;
  readonly fields: ProfileFields;
  readonly knows: readonly KnownPerson[];
}

export interface ProfileLimits {
  /** Largest document read, in UTF-8 bytes. */
  readonly maxBytes: number;
  /** Most triples in one document (a deeply nested or padded document hits this). */
  readonly maxTriples: number;
  /** Most foaf:knows edges of the person; more and the whole document is refused. */
  readonly maxKnows: number;
}

export const PROFILE_LIMITS: ProfileLimits = { maxBytes: 256 * 1024, maxTriples: 10_000, maxKnows: 1000 };

export type RefusalCode = 'too-large' | 'invalid-turtle' | 'too-many-triples' | 'too-many-knows' | 'not-this-peer';

/** A profile document we do not take, with a reason for the log line and the store. */
export class ProfileRefused extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProfileRefused';
  }
}

export interface ParsedProfile extends ProfileDocument {
  /** Edges dropped, each with why (a self-loop, a knows that is not a tlsim peer): for the log. */
  readonly dropped: readonly string[];
}

const p = (local: string) => namedNode(`${FOAF}${local}`);
const t = (local: string) => namedNode(`${TLSIM}${local}`);

/** The profile as Turtle, with the foaf, dcterms and tlsim prefixes. */
export function writeProfile(doc: ProfileDocument): string {
  const writer = new Writer({ prefixes: { foaf: FOAF, dcterms: 'http://purl.org/dc/terms/', rdfs: 'http://www.w3.org/2000/01/rdf-schema#', tlsim: TLSIM } });
  const me = namedNode(peerIri(doc.fingerprint));
  const add = (s: Term, pred: Term, o: Term) => writer.addQuad(quad(s as never, pred as never, o as never));
  add(me, namedNode(RDF_TYPE), p('Person'));
  const f = doc.fields;
  if (f.nick) add(me, p('nick'), literal(f.nick));
  if (f.name) add(me, p('name'), literal(f.name));
  if (f.mboxSha1sum) add(me, p('mbox_sha1sum'), literal(f.mboxSha1sum));
  // foaf:interest and foaf:based_near point at things (a document, a place), not strings: a labelled node each.
  for (const i of f.interests) add(me, p('interest'), writer.blank(namedNode(RDFS_LABEL), literal(i)));
  if (f.place) add(me, p('based_near'), writer.blank(namedNode(RDFS_LABEL), literal(f.place)));
  if (f.description) add(me, namedNode(DCT_DESCRIPTION), literal(f.description));
  addAddress(add, me, doc);
  for (const k of doc.knows) {
    const them = namedNode(peerIri(k.fingerprint));
    add(me, p('knows'), them);
    add(them, namedNode(RDF_TYPE), p('Person'));
    if (k.nick) add(them, p('nick'), literal(k.nick));
    if (k.name) add(them, p('name'), literal(k.name));
    addAddress(add, them, k);
  }
  let out = '';
  writer.end((err, result) => {
    if (err) throw err;
    out = result;
  });
  return out;
}

function addAddress(add: (s: Term, p: Term, o: Term) => void, who: Term, a: { fingerprint: string; share?: string; profileUrl?: string }): void {
  add(who, t('fingerprint'), literal(a.fingerprint));
  if (a.share) add(who, t('share'), literal(a.share));
  if (a.profileUrl) add(who, t('profile'), namedNode(a.profileUrl));
}

/**
 * Reads the profile of `fingerprint` (the peer we asked, or the one its voucher named): its own fields and the
 * people it lists. Throws ProfileRefused for a document past a limit, not Turtle, or not about that peer.
 */
export function parseProfile(text: string, fingerprint: string, limits: ProfileLimits = PROFILE_LIMITS): ParsedProfile {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBytes) throw new ProfileRefused('too-large', `a profile of ${bytes} bytes is over the limit of ${limits.maxBytes}`);
  const quads: Quad[] = [];
  try {
    // Turtle only (no N3 formulas or rules); the document is at most maxBytes, so parsing it whole is bounded.
    const parser = new Parser({ format: 'text/turtle' });
    for (const q of parser.parse(text)) {
      quads.push(q);
      if (quads.length > limits.maxTriples) throw new ProfileRefused('too-many-triples', `more than ${limits.maxTriples} triples`);
    }
  } catch (err) {
    if (err instanceof ProfileRefused) throw err;
    throw new ProfileRefused('invalid-turtle', `not Turtle: ${String((err as Error).message).slice(0, 200)}`);
  }
  const graph = new Graph(quads);
  const me = peerIri(fingerprint);
  if (!graph.has(me, RDF_TYPE, `${FOAF}Person`)) throw new ProfileRefused('not-this-peer', `no foaf:Person ${me} in the document`);
  const claimed = graph.literal(me, `${TLSIM}fingerprint`);
  if (claimed !== undefined && claimed !== fingerprint) throw new ProfileRefused('not-this-peer', 'the document gives another fingerprint for its person');

  const edges = graph.objects(me, `${FOAF}knows`);
  if (edges.length > limits.maxKnows) throw new ProfileRefused('too-many-knows', `${edges.length} foaf:knows edges, more than ${limits.maxKnows}`);
  const dropped: string[] = [];
  const knows: KnownPerson[] = [];
  const seen = new Set<string>();
  for (const k of edges) {
    const fp = k.termType === 'NamedNode' && k.value.startsWith(PEER_IRI_PREFIX) ? k.value.slice(PEER_IRI_PREFIX.length) : undefined;
    if (fp === undefined || !/^[0-9a-f]{64}$/.test(fp)) dropped.push(`knows ${clip(k.value)}: not a tlsim peer`);
    else if (fp === fingerprint) dropped.push('a self-loop (knows itself)');
    else if (!seen.has(fp)) {
      seen.add(fp);
      knows.push(clean({ fingerprint: fp, ...graph.address(k.value), nick: graph.literal(k.value, `${FOAF}nick`), name: graph.literal(k.value, `${FOAF}name`) }));
    }
  }
  const interests = graph
    .objects(me, `${FOAF}interest`)
    .map((o) => (o.termType === 'Literal' ? o.value : graph.literal(o.value, RDFS_LABEL)))
    .filter((i): i is string => i !== undefined)
    .map(field)
    .slice(0, MAX_INTERESTS);
  const place = graph.objects(me, `${FOAF}based_near`).map((o) => (o.termType === 'Literal' ? o.value : graph.literal(o.value, RDFS_LABEL)))[0];
  const sha1 = graph.literal(me, `${FOAF}mbox_sha1sum`)?.toLowerCase();
  const fields = clean({
    nick: graph.literal(me, `${FOAF}nick`),
    name: graph.literal(me, `${FOAF}name`),
    mboxSha1sum: sha1 && /^[0-9a-f]{40}$/.test(sha1) ? sha1 : undefined,
    place,
    description: graph.literal(me, DCT_DESCRIPTION),
  });
  return { fingerprint, ...graph.address(me), fields: { ...fields, interests }, knows, dropped };
}

/** One field as we keep it: one line of at most MAX_FIELD_LENGTH characters. */
function field(v: string): string {
  const one = v.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim();
  return one.length > MAX_FIELD_LENGTH ? one.slice(0, MAX_FIELD_LENGTH) : one;
}

function clean<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'string') {
      const f = k === 'fingerprint' || k === 'share' || k === 'profileUrl' ? v : field(v);
      if (f) out[k] = f;
    } else if (v !== undefined) out[k] = v;
  }
  return out as T;
}

const clip = (s: string): string => (s.length > 80 ? `${s.slice(0, 79)}…` : s);

/** The few lookups the reader needs over the parsed triples. */
class Graph {
  private readonly bySubject = new Map<string, Quad[]>();

  constructor(quads: readonly Quad[]) {
    for (const q of quads) {
      const list = this.bySubject.get(q.subject.value);
      if (list) list.push(q);
      else this.bySubject.set(q.subject.value, [q]);
    }
  }

  objects(subject: string, predicate: string): Term[] {
    return (this.bySubject.get(subject) ?? []).filter((q) => q.predicate.value === predicate).map((q) => q.object);
  }

  has(subject: string, predicate: string, object: string): boolean {
    return this.objects(subject, predicate).some((o) => o.value === object);
  }

  literal(subject: string, predicate: string): string | undefined {
    return this.objects(subject, predicate).find((o) => o.termType === 'Literal')?.value;
  }

  address(subject: string): { share?: string; profileUrl?: string } {
    const share = this.literal(subject, `${TLSIM}share`);
    const url = this.objects(subject, `${TLSIM}profile`).find((o) => o.termType === 'NamedNode')?.value;
    return {
      ...(share !== undefined && share.length <= 300 && { share }),
      ...(url !== undefined && /^https?:\/\//.test(url) && url.length <= 300 && { profileUrl: url }),
    };
  }
}
