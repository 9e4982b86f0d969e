// Typing notifications: contacts support them; peers' states reach the user. XEP-0085.
// States the user sends go out through rfc6121-messages.ts (one message handler per kind).
import type { Feature } from '../xmpp/feature.js';
import { x } from '../xmpp/xml/element.js';
import { NS } from './support/ns.js';
import { peerFullJid } from './support/peer-jid.js';

export const chatStates: Feature = {
  name: 'chat-states',
  // COMPAT(pidgin): advertised in the contacts' caps, so Pidgin keeps sending typing notifications.
  disco: { contact: [NS.chatStates] },
  setup(ctx) {
    const { identity } = ctx;
    ctx.onNetwork('onChatState', (id, state) => {
      // A state is only worth something now: never stored for a user who is offline.
      ctx.deliver(
        x('message', { type: 'chat', from: peerFullJid(identity, id), to: identity.user.toString() }, x(state, { xmlns: NS.chatStates })),
      );
    });
  },
};
