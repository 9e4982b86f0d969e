// What discussion history an occupant asked for when joining (XEP-0045 §7.2.14, <history maxchars maxstanzas seconds
// since/> in the join's <x xmlns=muc/>), and how much of it fits: the room sends the least that meets every limit
// given, whole stanzas only, maxchars counting the characters of the complete stanzas (maxchars="0": none).
import type { Element } from '../../xmpp/xml/element.js';
import { xep0082DateTime } from './mam-query.js';

/** Messages a join gets without a <history/> limit, and the most any join gets. */
export const DEFAULT_MUC_HISTORY = 20;
export const MAX_MUC_HISTORY = 200;

export interface HistoryRequest {
  /** At most this many messages (0..MAX_MUC_HISTORY). */
  readonly maxstanzas: number;
  /** At most this many characters of stanzas in all; absent: no limit. */
  readonly maxchars?: number;
  /** Only what was said at or after this time (`since`, or now less `seconds`: the later of the two). */
  readonly since?: Date;
}

/** A non-negative integer attribute; anything else is as if absent (a client's typo must not cost it its join). */
function count(v: string | undefined): number | undefined {
  return v !== undefined && /^\s*\d{1,9}\s*$/.test(v) ? Number(v) : undefined;
}

/** The join's history limits; `mucX` is its <x xmlns='http://jabber.org/protocol/muc'/> (absent: the defaults). */
export function historyRequest(mucX: Element | undefined, now: Date): HistoryRequest {
  const h = mucX?.getChild('history');
  if (!h) return { maxstanzas: DEFAULT_MUC_HISTORY };
  const maxstanzas = Math.min(MAX_MUC_HISTORY, count(h.attr('maxstanzas')) ?? DEFAULT_MUC_HISTORY);
  const maxchars = count(h.attr('maxchars'));
  const seconds = count(h.attr('seconds'));
  const since = h.attr('since') !== undefined ? xep0082DateTime(h.attr('since')!.trim()) : undefined;
  const afterSeconds = seconds !== undefined ? new Date(now.getTime() - seconds * 1000) : undefined;
  const bound = [since, afterSeconds].filter((d): d is Date => d !== undefined).sort((a, b) => b.getTime() - a.getTime())[0];
  return { maxstanzas, ...(maxchars !== undefined && { maxchars }), ...(bound && { since: bound }) };
}

/** The newest of `stanzas` (oldest first) whose serialized characters add up to at most `maxchars`, oldest first. */
export function fitChars(stanzas: Element[], maxchars: number | undefined): Element[] {
  if (maxchars === undefined) return stanzas;
  let left = maxchars;
  let from = stanzas.length;
  while (from > 0) {
    const size = stanzas[from - 1]!.toString().length;
    if (size > left) break;
    left -= size;
    from--;
  }
  return stanzas.slice(from);
}
