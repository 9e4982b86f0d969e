// Who is how far from the user in the graph of published foaf:knows edges, and the one ranking function of search
// results (README "Find people"): `directory.rank = "distance"` (nearest first, then most vouchers) or "vouchers".
import type { DirectoryResult, PeerId } from '../bridge/contract.js';

export const RANK_MODES = ['distance', 'vouchers'] as const;
export type RankMode = (typeof RANK_MODES)[number];

export interface Edge {
  readonly voucher: PeerId;
  readonly subject: PeerId;
}

export interface Reach {
  /** Hops from the user: contacts are 1, whom they list 2, ... */
  readonly distance: number;
  /** Vouchers the user reaches (a profile nobody we reach lists does not count), nearest first. */
  readonly vouchers: PeerId[];
}

/**
 * Breadth first from the user's contacts over the vouches. Edges from people we do not reach are ignored, and
 * so is the user: nobody vouches for us to ourselves. Cycles end by themselves (a person keeps its first distance).
 */
export function reach(self: PeerId, contacts: readonly PeerId[], edges: readonly Edge[]): Map<PeerId, Reach> {
  const out = new Map<PeerId, { distance: number; vouchers: PeerId[] }>();
  const listed = new Map<PeerId, PeerId[]>();
  for (const e of edges) {
    if (e.subject === self || e.subject === e.voucher) continue;
    const l = listed.get(e.voucher);
    if (l) l.push(e.subject);
    else listed.set(e.voucher, [e.subject]);
  }
  let frontier = contacts.filter((c) => c !== self);
  for (const c of frontier) out.set(c, { distance: 1, vouchers: [] });
  for (let d = 1; frontier.length > 0; d++) {
    const next: PeerId[] = [];
    for (const v of frontier) {
      for (const s of listed.get(v) ?? []) {
        let r = out.get(s);
        if (!r) {
          r = { distance: d + 1, vouchers: [] };
          out.set(s, r);
          next.push(s);
        }
        if (!r.vouchers.includes(v)) r.vouchers.push(v);
      }
    }
    frontier = next;
  }
  // Vouchers at a greater distance than their subject came later in the walk: nearest first holds.
  return out;
}

/**
 * THE ranking. "distance": fewer hops first (contacts of contacts before their contacts), then more independent
 * vouchers; "vouchers": more vouchers first, then fewer hops. Ties: by nick, then fingerprint, so it is stable.
 */
export function compareResults(mode: RankMode): (a: DirectoryResult, b: DirectoryResult) => number {
  return (a, b) => {
    const byDistance = a.distance - b.distance;
    const byVouchers = b.vouchers.length - a.vouchers.length;
    const first = mode === 'distance' ? byDistance || byVouchers : byVouchers || byDistance;
    return first || (a.nick ?? '').localeCompare(b.nick ?? '') || (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0);
  };
}
