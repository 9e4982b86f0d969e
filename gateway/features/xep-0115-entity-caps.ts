// Entity capabilities: contacts say they support caps; the hash itself is in support/contact-caps.ts,
// shared by presence (the <c/> element) and disco (the node#ver query). XEP-0115.
import type { Feature } from '../xmpp/feature.js';
import { NS } from './support/ns.js';

export const entityCaps: Feature = {
  name: 'entity-caps',
  disco: { contact: [NS.caps] },
  setup() {
    // Nothing to handle: caps are carried by the presence and disco features.
  },
};
