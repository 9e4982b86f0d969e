// What a contact is in disco#info, and its XEP-0115 (Entity Capabilities) hash.
// Presence and disco both need it; features never import each other, so it lives here.
import { createHash } from 'node:crypto';
import { x, type Element } from '../../xmpp/xml/element.js';
import { NS } from './ns.js';

export interface DiscoIdentity {
  readonly category: string;
  readonly type: string;
  readonly lang?: string;
  readonly name?: string;
}

/** Our caps node (XEP-0115 §4: a URI identifying the software). */
export const CAPS_NODE = 'https://github.com/tlsim-gateway';

/**
 * Every contact has the same identity. Its name is fixed, not the contact's name, so all
 * contacts share one caps `ver`: a client asks disco#info once and caches it. The human
 * name is in the roster and the vCard.
 */
export const CONTACT_IDENTITIES: readonly DiscoIdentity[] = [{ category: 'client', type: 'pc', name: 'tlsim peer' }];

export interface ContactDisco {
  identities: readonly DiscoIdentity[];
  /** Sorted, without duplicates: the order XEP-0115 hashes them in. */
  features: string[];
  ver: string;
}

/** The contact disco#info from the features all modules declared for contacts. */
export function contactDisco(declared: readonly string[]): ContactDisco {
  const features = sortedUnique(declared);
  return { identities: CONTACT_IDENTITIES, features, ver: capsVer(CONTACT_IDENTITIES, features) };
}

/** XEP-0115 §5.1 verification string (no extended forms), SHA-1, base64. */
export function capsVer(identities: readonly DiscoIdentity[], features: readonly string[]): string {
  const ids = identities
    .map((i) => `${i.category}/${i.type}/${i.lang ?? ''}/${i.name ?? ''}`)
    .sort(octetCompare);
  let s = '';
  for (const i of ids) s += `${i}<`;
  for (const f of sortedUnique(features)) s += `${f}<`;
  return createHash('sha1').update(s, 'utf8').digest('base64');
}

/** The `<c/>` element a contact's available presence carries. */
export function capsElement(ver: string): Element {
  return x('c', { xmlns: NS.caps, hash: 'sha-1', node: CAPS_NODE, ver });
}

function sortedUnique(items: readonly string[]): string[] {
  return [...new Set(items)].sort(octetCompare);
}

/** XEP-0115 sorts by "i;octet" collation: UTF-8 bytes, not UTF-16 code units as `<` would. */
function octetCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
