// The JID ⇄ peer mapping used by roster, presence, blocking and messages.
import { jid } from '@xmpp/jid';
import { describe, expect, it } from 'vitest';
import { peerBareJid, peerFullJid, peerIdOf } from '../../gateway/features/support/peer-jid.js';

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
    expect(peerIdOf(identity, `${fp.slice(1)}@peers.localhost`)).toBeUndefined();
  });
});
