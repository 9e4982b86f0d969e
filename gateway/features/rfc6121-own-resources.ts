// The user's resources see one another: each one's available and unavailable presence goes to
// the user's available resources, the sender's own available presence back to it too (an account
// is subscribed to itself). RFC 6121 §4.2.2 (initial), §4.4.2 (updates), §4.5.2 (unavailable).
import type { Feature } from '../xmpp/feature.js';
import type { SessionInfo } from '../xmpp/hooks.js';
import type { Element } from '../xmpp/xml/element.js';

export const ownResources: Feature = {
  name: 'own-resources',
  setup(ctx) {
    const from = (presence: Element, sender: SessionInfo, to: SessionInfo): Element => {
      const p = presence.clone();
      p.attrs.from = sender.jid.toString();
      p.attrs.to = to.jid.toString();
      return p;
    };

    // §4.2.2: a resource coming online learns which of the others are there (as a probe of its own account would).
    ctx.on('initial-presence', (session) => {
      for (const s of ctx.sessions()) if (s !== session && s.available && s.presence) session.send(from(s.presence, s, session));
    });

    // Broadcast presence, after the core updated the session (also the unavailable of a session that ends).
    ctx.on('presence-broadcast', (session, stanza) => {
      const type = stanza.attr('type');
      for (const s of ctx.sessions()) {
        if (s === session ? type === undefined : s.available) s.send(from(stanza, session, s));
      }
    });
  },
};
