// Who gets a stanza for the user's bare JID (RFC 6121 §8.5.2), and what a <priority/> says (§4.7.2.3).
import { describe, expect, it } from 'vitest';
import { recipients } from '../../gateway/xmpp/router.js';
import { presencePriority } from '../../gateway/xmpp/stream/session.js';
import { x } from '../../gateway/xmpp/xml/element.js';

const s = (name: string, priority: number, available = true) => ({ name, priority, available });
const names = (list: Array<{ name: string }>) => list.map((r) => r.name);
const msg = (type?: string) => x('message', { type }, x('body', null, 'hi'));

describe('RFC 6121 routing for the bare JID', () => {
  const sessions = [s('phone', 5), s('laptop', 5), s('tablet', 1), s('bot', -1), s('quiet', 9, false)];

  it('a chat or normal message (or one of unknown type) goes to the available sessions of top priority', () => {
    for (const type of ['chat', undefined, 'normal', 'weird']) expect(names(recipients(msg(type), sessions))).toEqual(['phone', 'laptop']);
  });

  it('a headline goes to every non-negative available session; errors and group chat to nobody', () => {
    expect(names(recipients(msg('headline'), sessions))).toEqual(['phone', 'laptop', 'tablet']);
    expect(recipients(msg('error'), sessions)).toEqual([]);
    expect(recipients(msg('groupchat'), sessions)).toEqual([]);
  });

  it('only negative priorities: no message goes anywhere; presence goes to every available session', () => {
    const negative = [s('bot', -1), s('other', -3)];
    expect(recipients(msg('chat'), negative)).toEqual([]);
    expect(names(recipients(x('presence'), sessions))).toEqual(['phone', 'laptop', 'tablet', 'bot']);
  });

  it('reads <priority/>: absent, empty, out of range or not a number is 0', () => {
    const p = (text?: string) => presencePriority(text === undefined ? x('presence') : x('presence', null, x('priority', null, text)));
    expect([p('5'), p(' -128 '), p('127'), p('+3')]).toEqual([5, -128, 127, 3]);
    expect([p(), p(''), p('128'), p('-129'), p('1.5'), p('high')]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(presencePriority(undefined)).toBe(0);
  });
});
