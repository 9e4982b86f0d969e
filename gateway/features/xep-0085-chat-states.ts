// Typing notifications with gateway contacts: they support them; peers' states reach the user. XEP-0085.
// States the user sends go out through rfc6121-messages.ts (one message handler per kind), to gateway
// contacts only: a reference peer's link carries lines of text, and a state must never become one.
import type { Feature } from '../xmpp/feature.js';
import { x } from '../xmpp/xml/element.js';
import { NS } from './support/ns.js';
import { peerFullJid } from './support/peer-jid.js';

export const chatStates: Feature = {
  name: 'chat-states',
  // Only gateway contacts can show the user typing, or type themselves. COMPAT(pidgin): libpurple 2.14
  // ignores caps here (message.c: a contact's message with a state marks its resource as supporting
  // states, one without as not, until a message with a state comes); rfc6121-messages.ts puts <active/>
  // in every message from a gateway contact, so Pidgin keeps sending typing to them, and stops for
  // reference peers, which could never see it.
  disco: { gatewayContact: [NS.chatStates] },
  setup(ctx) {
    const { identity, network } = ctx;
    ctx.onNetwork('onChatState', (id, state) => {
      // Only the other gateway's user can be typing; nothing is shown as coming from a reference peer.
      if (!network.getContact(id)?.gateway) return;
      // A state is only worth something now: never stored for a user who is offline.
      ctx.deliver(
        x('message', { type: 'chat', from: peerFullJid(identity, id), to: identity.user.toString() }, x(state, { xmlns: NS.chatStates })),
      );
    });
  },
};
