// The router's cache of parsed addresses: the same answers as parsing each time, bounded, malformed never kept.
import { describe, expect, it } from 'vitest';
import { StanzaError } from '../../gateway/xmpp/errors.js';
import { JidCache } from '../../gateway/xmpp/jid-cache.js';
import { resolveAddress, routingJids, toJid } from '../../gateway/xmpp/router.js';
import { jid } from '@xmpp/jid';

const FP = 'c287d5c7'.repeat(8);
const identity = { domain: 'localhost', peerDomain: 'peers.localhost', user: jid('me@localhost') } as Parameters<typeof resolveAddress>[0];

describe('JidCache', () => {
  it('answers as a fresh parse does, for every address and again from the cache', () => {
    const cache = routingJids();
    const addresses = [`${FP}@peers.localhost`, `${FP}@peers.localhost/phone`, 'me@localhost/laptop', 'localhost', 'peers.localhost', 'a\\20b@localhost'];
    for (let round = 0; round < 2; round++) {
      for (const a of addresses) {
        expect(cache.get(a).toString()).toBe(toJid(a).toString());
        expect(resolveAddress(identity, a, undefined, cache)).toEqual(resolveAddress(identity, a));
      }
    }
    expect(cache.size).toBe(addresses.length);
  });

  it('parses an address once while it is kept', () => {
    let parses = 0;
    const cache = new JidCache((a) => (parses++, toJid(a)));
    const first = cache.get('me@localhost/phone');
    expect(cache.get('me@localhost/phone')).toBe(first);
    expect(parses).toBe(1);
  });

  it('a malformed address throws every time and is never kept', () => {
    const cache = routingJids();
    for (let i = 0; i < 2; i++) expect(() => cache.get('a@bad domain')).toThrow(StanzaError);
    expect(cache.size).toBe(0);
  });

  it('holds at most its bound: past it, it starts again empty and keeps answering right', () => {
    const cache = new JidCache(toJid, 4);
    for (let i = 0; i < 10; i++) {
      expect(cache.get(`u${i}@localhost`).local).toBe(`u${i}`);
      expect(cache.size).toBeLessThanOrEqual(4);
    }
    expect(cache.get('u9@localhost').local).toBe('u9');
  });

  it('a shared JID cannot be changed by one caller under the others', () => {
    const cache = routingJids();
    const j = cache.get('me@localhost/phone');
    // @xmpp/jid's `resource` is a setter that writes the parsed field (its typings call it read-only).
    expect(() => ((j as unknown as { resource: string }).resource = 'other')).toThrow(TypeError);
    expect(cache.get('me@localhost/phone').toString()).toBe('me@localhost/phone');
  });
});
