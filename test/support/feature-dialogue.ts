// What feature dialogue tests share: a fresh gateway (on a fake peer network) for every test,
// the JIDs its contacts have, the roster-push matchers, and a network that knows its own identity.
import { afterEach, beforeEach } from 'vitest';
import type { SelfInfo } from '../../gateway/bridge/contract.js';
import { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import { startTestGateway, type LoginOptions, type TestClient, type TestGateway, type TestGatewayOptions } from './xmpp-harness.js';

export const ROSTER = 'jabber:iq:roster';

export interface Dialogue {
  gw: TestGateway;
  /** gw.fake: the default network, or the given one when it is a FakePeerNetwork. */
  fake: FakePeerNetwork;
}

/** A contact's JIDs on the current gateway's peer domain. */
export interface PeerJids {
  bare(id: string): string;
  /** The full JID its presences and messages come from (resource `tlsim`). */
  full(id: string): string;
}

/**
 * Registers a beforeEach that starts a gateway (with `opts`, or what `opts()` returns for this
 * test) and hands it to `bind`, and an afterEach that stops it.
 */
export function gatewayPerTest(bind: (d: Dialogue) => void, opts: TestGatewayOptions | (() => TestGatewayOptions) = {}): PeerJids {
  let current: TestGateway | undefined;
  beforeEach(async () => {
    current = undefined;
    current = await startTestGateway(typeof opts === 'function' ? opts() : opts);
    bind({ gw: current, fake: current.fake! });
  });
  afterEach(() => current?.stop());
  return {
    bare: (id) => `${id}@${current!.peerDomain}`,
    full: (id) => `${id}@${current!.peerDomain}/tlsim`,
  };
}

/** Logs in and waits until the session is available: at initial presence the gateway contact's presence comes first. */
export async function loginOnline(gw: TestGateway, opts: LoginOptions = {}): Promise<TestClient> {
  const c = await gw.login(opts);
  await c.next((el) => el.name === 'presence' && el.attrs.from === gw.domain);
  return c;
}

/** A roster push (iq set with a roster query) to the client. */
export const isRosterPush = (el: Element) => el.name === 'iq' && el.attrs.type === 'set' && !!el.getChild('query', ROSTER);
/** The one item a roster push carries. */
export const pushedRosterItem = (el: Element) => el.getChild('query', ROSTER)!.getChild('item')!;

/** The fingerprint of SelfNetwork's own identity. */
export const SELF = 'e'.repeat(64);

/** FakePeerNetwork has no identity of its own: status and share need one. */
export class SelfNetwork extends FakePeerNetwork {
  selfInfo(): SelfInfo {
    return { fingerprint: SELF, share: `tlsim://${SELF}@192.0.2.7:4433`, listening: ['0.0.0.0:4433'], transport: 'direct', online: 0, queued: 2 };
  }
}
