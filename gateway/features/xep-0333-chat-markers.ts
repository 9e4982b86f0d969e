// Chat markers (received, displayed, acknowledged) between the user and gateway contacts: advertised
// by gateway contacts only; a peer's markers reach the user as the other gateway reported them. XEP-0333.
// The user's <markable/> and markers to contacts go out through rfc6121-messages.ts (one message
// handler per kind; support/message-meta.ts reads them); a reference peer never sends one.
import type { Feature } from '../xmpp/feature.js';
import { relayMarkers } from './support/message-meta.js';
import { NS } from './support/ns.js';

export const chatMarkers: Feature = {
  name: 'chat-markers',
  disco: { gatewayContact: [NS.chatMarkers] },
  setup(ctx) {
    relayMarkers(ctx, ['received', 'displayed', 'acknowledged']);
  },
};
