// The XEP-0115 verification string contacts advertise in presence and answer in disco.
import { describe, expect, it } from 'vitest';
import { capsVer, contactDisco } from '../../gateway/features/support/contact-caps.js';

describe('capsVer', () => {
  it('matches the XEP-0115 §5.2 simple example', () => {
    const ver = capsVer(
      [{ category: 'client', type: 'pc', name: 'Exodus 0.9.1' }],
      [
        'http://jabber.org/protocol/disco#info',
        'http://jabber.org/protocol/disco#items',
        'http://jabber.org/protocol/muc',
        'http://jabber.org/protocol/caps',
      ],
    );
    expect(ver).toBe('QgayPKawpkPSDYmwT/WM94uAlu0=');
  });

  it('does not depend on the order or repetition of declared features', () => {
    const a = contactDisco(['b', 'a', 'c', 'a']);
    const b = contactDisco(['c', 'b', 'a']);
    expect(a.ver).toBe(b.ver);
    expect(a.features).toEqual(['a', 'b', 'c']);
  });
});
