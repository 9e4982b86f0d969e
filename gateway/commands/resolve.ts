// Finding the peer a user means: a full fingerprint (any case, colons allowed, or as a peer JID),
// an unambiguous fingerprint prefix of at least 8 hex characters, or a contact's name.
import type { Contact, ContactState, PeerId, PeerNetwork } from '../bridge/contract.js';
import { isFingerprint } from '../bridge/share-string.js';
import type { CommandContext } from './types.js';

/** A mistake in what the user typed: shown to them as is, never logged as a failure. */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

const MIN_PREFIX = 8;

/** A room's JID as the user's client joins it. */
export function roomJid(ctx: Pick<CommandContext, 'domain' | 'roomDomain'>, name: string): string {
  return `${name}@${ctx.roomDomain ?? `conference.${ctx.domain ?? 'localhost'}`}`;
}

/** `c287d5c7…`: enough to tell peers apart in a list, short enough for a chat line. */
export function shortFingerprint(id: PeerId): string {
  return `${id.slice(0, MIN_PREFIX)}…`;
}

export function describeContact(c: Contact): string {
  return `${c.name} (${shortFingerprint(c.id)})`;
}

/**
 * Hex as people paste it: upper case and openssl's `AB:CD:…` colons are the same fingerprint;
 * `<fp>@<peerDomain>[/resource]` is the JID clients show. Returns lowercase hex, or undefined.
 */
export function normalizeHex(input: string, peerDomain: string): string | undefined {
  let s = input.trim().toLowerCase();
  const at = s.indexOf('@');
  if (at >= 0) {
    const domain = s.slice(at + 1).split('/')[0];
    if (domain !== peerDomain.toLowerCase()) return undefined;
    s = s.slice(0, at);
  }
  s = s.replace(/:/g, '');
  return /^[0-9a-f]+$/.test(s) ? s : undefined;
}

/** A full fingerprint, or a CommandError saying why the text is not one. */
export function parseFingerprint(input: string, peerDomain: string): PeerId {
  const hex = normalizeHex(input, peerDomain);
  if (hex && isFingerprint(hex)) return hex;
  throw new CommandError(`"${clip(input)}" is not a fingerprint (64 hex characters)`);
}

export interface ResolveOptions {
  /** Look only among contacts in these states; absent: all known peers, and any full fingerprint. */
  among?: readonly ContactState[];
}

export type Resolved = { id: PeerId; contact?: Contact };

/** The peer `query` names, or a CommandError that says what matched (nothing, or several). */
export function resolvePeer(network: PeerNetwork, peerDomain: string, query: string, opts: ResolveOptions = {}): Resolved {
  const q = query.trim();
  if (!q) throw new CommandError('name a contact (its name or fingerprint)');
  const pool = network.listContacts().filter((c) => !opts.among || opts.among.includes(c.state));
  const hex = normalizeHex(q, peerDomain);

  if (hex && isFingerprint(hex)) {
    const contact = pool.find((c) => c.id === hex);
    if (contact) return { id: hex, contact };
    if (!opts.among) return { id: hex, contact: network.getContact(hex) };
    throw new CommandError(`no ${what(opts.among)} with fingerprint ${shortFingerprint(hex)}`);
  }

  // A name first: a person who named a contact "cafebabe" means that contact.
  const named = pool.filter((c) => c.name.toLowerCase() === q.toLowerCase());
  if (named.length === 1) return { id: named[0]!.id, contact: named[0] };
  if (named.length > 1) throw ambiguous(q, named);

  if (hex && hex.length >= MIN_PREFIX) {
    const prefixed = pool.filter((c) => c.id.startsWith(hex));
    if (prefixed.length === 1) return { id: prefixed[0]!.id, contact: prefixed[0] };
    if (prefixed.length > 1) throw ambiguous(q, prefixed);
    throw new CommandError(`no ${what(opts.among)} with a fingerprint starting ${clip(q)}`);
  }
  const hint = hex ? ` (a fingerprint prefix needs at least ${MIN_PREFIX} hex characters)` : '';
  throw new CommandError(`no ${what(opts.among)} named ${clip(q)}${hint}`);
}

function ambiguous(q: string, matches: Contact[]): CommandError {
  const shown = matches.slice(0, 5).map(describeContact);
  const list = shown.length === 2 ? `${shown[0]} and ${shown[1]}` : shown.join(', ') + (matches.length > 5 ? ', …' : '');
  return new CommandError(`ambiguous: ${clip(q)} matches ${list}; give more of the fingerprint`);
}

function what(among: readonly ContactState[] | undefined): string {
  if (among?.length === 1 && among[0] === 'requested') return 'pending request';
  if (among?.length === 1 && among[0] === 'blocked') return 'blocked peer';
  return 'contact';
}

/** User text echoed in an error stays one short line. */
export function clip(s: string): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > 80 ? `${one.slice(0, 79)}…` : one;
}
