// The gateway's clock and time zone. XEP-0202.
import type { Feature } from '../xmpp/feature.js';
import { x } from '../xmpp/xml/element.js';

const NS_TIME = 'urn:xmpp:time';

export const entityTime: Feature = {
  name: 'entity-time',
  disco: { server: [NS_TIME] },
  setup(ctx) {
    ctx.iq('server', 'get', NS_TIME, 'time', () => {
      const now = new Date();
      return x('time', { xmlns: NS_TIME }, x('tzo', null, tzo(now)), x('utc', null, now.toISOString().replace(/\.\d{3}Z$/, 'Z')));
    });
  },
};

/** The local offset from UTC in XEP-0082 TZD form, e.g. "+02:00" or "-05:30". */
function tzo(d: Date): string {
  const minutes = -d.getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
