// Private XML storage dialogues: bookmarks fallback kept in memory (XEP-0049).
import { describe, expect, it } from 'vitest';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import { stanzaErrorOf, type TestGateway } from '../support/xmpp-harness.js';

const PRIVATE = 'jabber:iq:private';
const BOOKMARKS = 'storage:bookmarks';

describe('private storage', () => {
  let gw: TestGateway;
  gatewayPerTest((d) => ({ gw } = d));

  it('returns the asked-for element empty, then what was stored', async () => {
    const me = await gw.login();
    const empty = await me.iq(`<query xmlns='${PRIVATE}'><storage xmlns='${BOOKMARKS}'/></query>`);
    expect(empty.attrs.type).toBe('result');
    expect(empty.getChild('query', PRIVATE)!.getChild('storage', BOOKMARKS)!.elements()).toHaveLength(0);

    const set = await me.iq(`<query xmlns='${PRIVATE}'><storage xmlns='${BOOKMARKS}'><url name='tlsim' url='https://example.org'/></storage></query>`, { type: 'set' });
    expect(set.attrs.type).toBe('result');
    const stored = await me.iq(`<query xmlns='${PRIVATE}'><storage xmlns='${BOOKMARKS}'/></query>`);
    expect(stored.getChild('query', PRIVATE)!.getChild('storage', BOOKMARKS)!.getChild('url')!.attrs.name).toBe('tlsim');
  });

  it('refuses jabber:* namespaces and several elements at once', async () => {
    const me = await gw.login();
    expect(stanzaErrorOf(await me.iq(`<query xmlns='${PRIVATE}'><query xmlns='jabber:iq:roster'/></query>`))).toBe('not-acceptable');
    expect(stanzaErrorOf(await me.iq(`<query xmlns='${PRIVATE}'><a xmlns='x:a'/><b xmlns='x:b'/></query>`))).toBe('bad-request');
  });
});
