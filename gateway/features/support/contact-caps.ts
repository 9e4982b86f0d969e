// What a contact is in disco#info, and its XEP-0115 (Entity Capabilities) hash.
// Presence and disco both need it; features never import each other, so it lives here.
import { createHash } from 'node:crypto';
import type { Contact } from '../../bridge/contract.js';
import type { FeatureContext } from '../../xmpp/feature.js';
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
 * Every contact has the same identity. Its name is fixed, not the contact's name, so contacts
 * share a caps `ver` per class (see ContactClasses): a client asks disco#info once per class and
 * caches it. The human name is in the roster and the vCard.
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

/**
 * Contacts come in two classes, each with its own caps `ver`: a peer that is a tlsim-gateway
 * (Contact.gateway) also has what only the other user's client can answer (receipts, chat markers,
 * chat states: DiscoDeclaration.gatewayContact); a reference peer (tlsd, std2fifo) has only the
 * rest, so no client waits for a receipt or shows typing it can never get.
 */
export interface ContactClasses {
  reference: ContactDisco;
  gateway: ContactDisco;
  /** The class of one contact (an unknown one counts as a reference peer: nothing is promised). */
  of(contact: Pick<Contact, 'gateway'> | undefined): ContactDisco;
  /** The class whose caps node#ver this is (XEP-0115 §6.2), if any. */
  byNode(node: string): ContactDisco | undefined;
}

export function contactClasses(common: readonly string[], gatewayOnly: readonly string[]): ContactClasses {
  const reference = contactDisco(common);
  const gateway = contactDisco([...common, ...gatewayOnly]);
  return {
    reference,
    gateway,
    of: (c) => (c?.gateway ? gateway : reference),
    byNode: (node) => [reference, gateway].find((d) => node === `${CAPS_NODE}#${d.ver}`),
  };
}

/** The contact classes from what the features declared; read on first use, once every feature is set up. */
export function lazyContactClasses(ctx: Pick<FeatureContext, 'discoFeatures'>): () => ContactClasses {
  let classes: ContactClasses | undefined;
  return () => (classes ??= contactClasses(ctx.discoFeatures('contact'), ctx.discoFeatures('gatewayContact')));
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
