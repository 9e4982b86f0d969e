// The FOAF profile exchange on links between gateways (issue 13; frames 0xF8/0xF9 of wire/link-frames.ts): we answer
// a peer's request with our public profile, and ask a contact's gateway for its own. A reference peer (tlsd) has no
// profile: the link cannot carry the request, nothing is written to it, and the answer is "none", never a guess.
import type { Logger } from 'pino';
import type { LinkProfile, PeerManager } from './peer-protocol.js';
import { short } from './names.js';

export type ProfileFetch = { kind: 'turtle'; text: string } | { kind: 'none'; reason: string };

export interface ProfileLinkOptions {
  peers: PeerManager;
  log: Logger;
  /** Our public profile as Turtle (exactly what GET /foaf serves). */
  turtle: () => string;
  /** Whether a peer may have it (not blocked). */
  mayAsk: (fingerprint: string) => boolean;
  /** Whether an offline peer can be dialed (we have its address); if not, we do not wait for a link. */
  canDial?: (fingerprint: string) => boolean;
  /** How long a dial and an answer may take (default 30 s). */
  timeoutMs?: number;
}

/** Requests not answered yet, per peer; more and a fetch is refused (the crawler never needs many). */
const MAX_PENDING_PER_PEER = 4;

export class ProfileLink {
  private readonly pending = new Map<string, Array<(answer: LinkProfile) => void>>();

  constructor(private readonly opts: ProfileLinkOptions) {
    opts.peers.on('profile-request', (fp) => this.answer(fp));
    opts.peers.on('profile', (fp, answer) => this.pending.get(fp)?.shift()?.(answer));
    opts.peers.on('link-down', ({ fingerprint }) => {
      for (const resolve of this.pending.get(fingerprint)?.splice(0) ?? []) resolve({ none: 'the link went down before the answer' });
    });
  }

  private get timeoutMs(): number {
    return this.opts.timeoutMs ?? 30_000;
  }

  private answer(fp: string): void {
    let answer: LinkProfile = this.opts.mayAsk(fp) ? { turtle: this.opts.turtle() } : { none: 'not for you' };
    const send = (a: LinkProfile) => this.opts.peers.sendFrame(fp, a.turtle !== undefined ? { type: 'profile', turtle: a.turtle } : { type: 'profile', none: a.none });
    send(answer).catch((err: Error) => {
      if (!(err instanceof RangeError)) return;
      this.opts.log.warn({ peer: short(fp), err: err.message }, 'our profile is too large for a frame');
      answer = { none: 'the profile is too large for a frame' };
      send(answer).catch(() => undefined);
    });
  }

  /** The contact's profile over its link (dialing it if needed), or why there is none. Never throws. */
  async fetch(fp: string): Promise<ProfileFetch> {
    const { peers } = this.opts;
    if (!peers.isOnline(fp) && this.opts.canDial?.(fp) === false) return { kind: 'none', reason: 'offline, and no address to dial' };
    if (!peers.isOnline(fp) && !(await this.online(fp))) return { kind: 'none', reason: 'unreachable: no link came up' };
    const waiting = this.pending.get(fp) ?? [];
    if (waiting.length >= MAX_PENDING_PER_PEER) return { kind: 'none', reason: 'too many requests waiting' };
    this.pending.set(fp, waiting);
    let timer: NodeJS.Timeout | undefined;
    let mine: ((answer: LinkProfile) => void) | undefined;
    const answered = new Promise<LinkProfile>((resolve) => {
      mine = resolve;
      waiting.push(resolve);
      timer = setTimeout(() => resolve({ none: 'no answer (a gateway that does not publish profiles)' }), this.timeoutMs);
    });
    const forget = () => {
      clearTimeout(timer);
      const i = waiting.indexOf(mine!);
      if (i >= 0) waiting.splice(i, 1);
    };
    try {
      if (!(await peers.sendFrame(fp, { type: 'profile-request' }))) {
        forget();
        return { kind: 'none', reason: 'a reference peer (tlsd): it has no profile' };
      }
    } catch (err) {
      forget();
      return { kind: 'none', reason: `unreachable: ${(err as Error).message}` };
    }
    const answer = await answered;
    forget();
    return answer.turtle !== undefined ? { kind: 'turtle', text: answer.turtle } : { kind: 'none', reason: answer.none };
  }

  /** Dials the peer and waits for its link (at most timeoutMs). */
  private online(fp: string): Promise<boolean> {
    const { peers } = this.opts;
    return new Promise((resolve) => {
      const done = (up: boolean) => {
        clearTimeout(timer);
        peers.off('link-up', onUp);
        resolve(up);
      };
      const onUp = ({ fingerprint }: { fingerprint: string }) => fingerprint === fp && done(true);
      const timer = setTimeout(() => done(false), this.timeoutMs);
      peers.on('link-up', onUp);
      peers.connect(fp);
    });
  }
}
