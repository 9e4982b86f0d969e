// Message delivery receipts, only where they are true: a gateway contact says it supports them, and
// the user gets <received/> when the other gateway reports that its user's client got the message.
// XEP-0184. The user's <request/> and <received/> to contacts go out through rfc6121-messages.ts (one
// message handler per kind; support/message-meta.ts reads them); a reference peer never answers one,
// and an acknowledgement between the two gateways is never taken for a receipt.
import type { Feature } from '../xmpp/feature.js';
import { relayMarkers } from './support/message-meta.js';
import { NS } from './support/ns.js';

export const receipts: Feature = {
  name: 'receipts',
  disco: { gatewayContact: [NS.receipts] },
  setup(ctx) {
    relayMarkers(ctx, ['receipt']);
  },
};
