// The XEP-0115 verification string and the peer JID mapping used by presence, disco and roster.
import { describe, expect, it } from 'vitest';
import { capsVer, contactDisco } from '../../gateway/features/support/contact-caps.js';
import { isPeerId, peerBareJid, peerFullJid, peerIdOf } from '../../gateway/features/support/peer-jid.js';
import { jid } from '@xmpp/jid';

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

describe('peer JIDs', () => {
  const identity = { domain: 'localhost', peerDomain: 'peers.localhost', user: jid('me@localhost') };
  const fp = 'ab'.repeat(32);

  it('maps a fingerprint to a bare and a full JID and back', () => {
    expect(peerBareJid(identity, fp)).toBe(`${fp}@peers.localhost`);
    expect(peerIdOf(identity, peerFullJid(identity, fp))).toBe(fp);
  });

  it('treats an upper-case fingerprint as the same peer', () => {
    expect(peerIdOf(identity, `${fp.toUpperCase()}@PEERS.localhost`)).toBe(fp);
  });

  it('rejects JIDs that are not fingerprints under the peer domain', () => {
    expect(peerIdOf(identity, `${fp}@localhost`)).toBeUndefined();
    expect(peerIdOf(identity, 'alice@peers.localhost')).toBeUndefined();
    expect(peerIdOf(identity, 'peers.localhost')).toBeUndefined();
    expect(peerIdOf(identity, '')).toBeUndefined();
    expect(isPeerId(fp.slice(1))).toBe(false);
  });
});
