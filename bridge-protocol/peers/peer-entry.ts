// One peer as the manager keeps it: where to dial it, its redial state, and its links, whose events become the
// manager's events (the manager's peers.ts holds the policy: dials, redials, forgetting).
import type { Link, LinkCloseInfo } from '../link.js';
import { lazyChild, type Logger } from '../logger.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import type { PeerAddress } from './dial.js';
import { PeerLinks } from './peer-links.js';
import type { SettleDeadlines } from './settle-deadlines.js';
import type { PeerManagerEvents } from './types.js';

export interface PeerEntry {
  fingerprint: string;
  /** setPeer() was called: keep it connected when it has an address. */
  known: boolean;
  address: PeerAddress | undefined;
  /** disconnect() or a rejected outbound link: no redial until connect()/setPeer(). */
  noRedial: boolean;
  backoff: Backoff;
  retryTimer: NodeJS.Timeout | undefined;
  retryInMs: number | undefined;
  dial: AbortController | undefined;
  links: PeerLinks;
  upAt: number;
  attemptBeforeUp: number;
}

/** What an entry needs from its manager. */
export interface PeerEntryHost {
  /** Our own fingerprint. */
  self: string;
  log: Logger;
  backoff: BackoffOptions | undefined;
  switchTimeoutMs: number;
  staleAfterMs: number;
  /** The manager's one settle timer. */
  settles: SettleDeadlines;
  emit<K extends keyof PeerManagerEvents>(event: K, ...args: Parameters<PeerManagerEvents[K]>): void;
  beforeAck: ((fingerprint: string) => void) | undefined;
  up(e: PeerEntry, link: Link): void;
  down(e: PeerEntry, info: LinkCloseInfo): void;
  idle(e: PeerEntry): void;
  /** May another link for this peer still be on its way (a dial in flight, inbound handshakes pending)? */
  replacementPending(e: PeerEntry): boolean;
}

/** A new entry for the peer `fp` (lower case), not yet known, with no link. */
export function newPeerEntry(fp: string, host: PeerEntryHost): PeerEntry {
  const e: PeerEntry = {
    fingerprint: fp,
    known: false,
    address: undefined,
    noRedial: false,
    backoff: new Backoff(host.backoff),
    retryTimer: undefined,
    retryInMs: undefined,
    dial: undefined,
    upAt: 0,
    attemptBeforeUp: 0,
    links: undefined as unknown as PeerLinks,
  };
  e.links = new PeerLinks(
    {
      self: host.self,
      fingerprint: fp,
      log: lazyChild(host.log, { peer: fp.slice(0, 12) }),
      switchTimeoutMs: host.switchTimeoutMs,
      settles: host.settles,
      staleAfterMs: host.staleAfterMs,
    },
    {
      up: (link) => host.up(e, link),
      down: (info) => host.down(e, info),
      message: (m) => host.emit('message', fp, m),
      marker: (marker, id) => host.emit('marker', fp, marker, id),
      chatState: (state) => host.emit('chat-state', fp, state),
      beforeAck: () => host.beforeAck?.(fp),
      profileRequest: () => host.emit('profile-request', fp),
      profile: (answer) => host.emit('profile', fp, answer),
      file: (record) => host.emit('file', fp, record),
      replacementPending: () => host.replacementPending(e),
      idle: () => host.idle(e),
    },
  );
  return e;
}
