// The XEP-0115 verification string contacts advertise in presence and answer in disco.
import { describe, expect, it } from 'vitest';
import { CAPS_NODE, capsVer, contactClasses, contactDisco } from '../../gateway/features/support/contact-caps.js';

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

  it('gives gateway and reference contacts each their own ver, and finds a class by its caps node', () => {
    const classes = contactClasses(['disco', 'caps'], ['receipts', 'caps']);
    expect(classes.reference.features).toEqual(['caps', 'disco']);
    expect(classes.gateway.features).toEqual(['caps', 'disco', 'receipts']);
    expect(classes.gateway.ver).not.toBe(classes.reference.ver);
    expect(classes.gateway.ver).toBe(capsVer(classes.gateway.identities, ['disco', 'caps', 'receipts']));
    expect(classes.of({ gateway: true })).toBe(classes.gateway);
    // A contact not known to be a gateway promises nothing.
    expect(classes.of({})).toBe(classes.reference);
    expect(classes.of(undefined)).toBe(classes.reference);
    expect(classes.byNode(`${CAPS_NODE}#${classes.reference.ver}`)).toBe(classes.reference);
    expect(classes.byNode(`${CAPS_NODE}#${classes.gateway.ver}`)).toBe(classes.gateway);
    expect(classes.byNode(`${CAPS_NODE}#nope`)).toBeUndefined();
  });
});
