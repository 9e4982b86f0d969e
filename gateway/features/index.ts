// The ordered list of XMPP features the gateway loads. Order matters only where one
// feature's handlers must see stanzas before another's; say why next to the entry.
import type { Feature } from '../xmpp/feature.js';

export const features: Feature[] = [];
