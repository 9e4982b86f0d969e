// XEP-0045 §7.2.14 as a join states it: <history/> limits read from the join's <x xmlns=muc/>, the later of
// `since` and `seconds` bounding the time, a bad attribute as if absent, and maxchars keeping whole stanzas only.
import { expect, it } from 'vitest';
import { DEFAULT_MUC_HISTORY, MAX_MUC_HISTORY, fitChars, historyRequest } from '../../gateway/features/support/muc-history.js';
import { x } from '../../gateway/xmpp/xml/element.js';

const MUC = 'http://jabber.org/protocol/muc';
const now = new Date('2026-12-03T12:00:00Z');
const join = (attrs?: Record<string, string>) => x('x', { xmlns: MUC }, attrs && x('history', attrs));

it('reads the limits a join asks for, and the defaults without them', () => {
  expect(historyRequest(undefined, now)).toEqual({ maxstanzas: DEFAULT_MUC_HISTORY });
  expect(historyRequest(join(), now)).toEqual({ maxstanzas: DEFAULT_MUC_HISTORY });
  expect(historyRequest(join({ maxstanzas: '5', maxchars: '0' }), now)).toEqual({ maxstanzas: 5, maxchars: 0 });
  expect(historyRequest(join({ maxstanzas: '100000' }), now).maxstanzas).toBe(MAX_MUC_HISTORY);
  // since and seconds together: the later bound.
  expect(historyRequest(join({ seconds: '60', since: '2026-12-03T11:00:00Z' }), now).since).toEqual(new Date('2026-12-03T11:59:00Z'));
  expect(historyRequest(join({ seconds: '7200', since: '2026-12-03T11:00:00.500+00:00' }), now).since).toEqual(new Date('2026-12-03T11:00:00.500Z'));
  // Not numbers or not XEP-0082: as if not given.
  expect(historyRequest(join({ maxstanzas: '-1', maxchars: 'lots', since: 'yesterday' }), now)).toEqual({ maxstanzas: DEFAULT_MUC_HISTORY });
});

it('maxchars keeps the newest whole stanzas whose characters fit, never a part of one', () => {
  const stanzas = ['one', 'two', 'three'].map((t) => x('message', { type: 'groupchat' }, x('body', null, t)));
  const size = (i: number) => stanzas[i]!.toString().length;
  expect(fitChars(stanzas, undefined)).toEqual(stanzas);
  expect(fitChars(stanzas, 0)).toEqual([]);
  expect(fitChars(stanzas, size(2) - 1)).toEqual([]);
  expect(fitChars(stanzas, size(2) + size(1))).toEqual(stanzas.slice(1));
  expect(fitChars(stanzas, size(2) + size(1) + size(0) - 1)).toEqual(stanzas.slice(1));
  expect(fitChars(stanzas, 1_000_000)).toEqual(stanzas);
});
