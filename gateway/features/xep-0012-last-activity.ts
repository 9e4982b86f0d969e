// Last activity: for the server, its uptime (XEP-0012 §5); contacts do not report idle times.
import type { Feature } from '../xmpp/feature.js';
import { x } from '../xmpp/xml/element.js';

const NS_LAST = 'jabber:iq:last';

export const lastActivity: Feature = {
  name: 'last-activity',
  disco: { server: [NS_LAST] },
  setup(ctx) {
    const started = Date.now();
    ctx.iq('server', 'get', NS_LAST, 'query', () =>
      x('query', { xmlns: NS_LAST, seconds: Math.floor((Date.now() - started) / 1000) }),
    );
  },
};
