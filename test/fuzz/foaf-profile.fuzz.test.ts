// Fuzzing the FOAF profile reader (gateway/directory/profile-rdf.ts): write∘parse is the identity for any profile
// (any text in any field, any knows list), and any text, Turtle-like or not, gives a profile within the limits or
// ProfileRefused, nothing else; the person read is always the peer asked for, never one it knows.
import fc from 'fast-check';
import { parseProfile, ProfileRefused, writeProfile, PROFILE_LIMITS, type KnownPerson, type ProfileDocument } from '../../gateway/directory/profile-rdf.js';
import { fuzzTarget, outcome } from './support.js';

const fingerprint = fc.stringMatching(/^[0-9a-f]{64}$/);
/** One line without the characters the reader folds (controls, runs of spaces) and not blank: what we keep. */
const field = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).map((s) => s.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim()).filter((s) => s.length > 0);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const known: fc.Arbitrary<KnownPerson> = fc.record({ fingerprint, nick: opt(field), name: opt(field) }, { requiredKeys: ['fingerprint'] });
const profile: fc.Arbitrary<ProfileDocument> = fc.record({
  fingerprint,
  fields: fc.record(
    { nick: opt(field), name: opt(field), interests: fc.uniqueArray(field, { maxLength: 5 }), place: opt(field), description: opt(field), mboxSha1sum: opt(fc.stringMatching(/^[0-9a-f]{40}$/)) },
    { requiredKeys: ['interests'] },
  ),
  knows: fc.uniqueArray(known, { maxLength: 6, selector: (k) => k.fingerprint }),
});

const strip = (o: object) => JSON.parse(JSON.stringify(o));
/** JSON with keys sorted at every level: equal values, equal strings. */
const canon = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));
const TOKENS = ['@prefix foaf: <http://xmlns.com/foaf/0.1/> .', '<urn:tlsim:peer:', 'a foaf:Person', 'foaf:knows', 'foaf:nick', '"', '"""', ' ;', ' .', ' ,', '[', ']', '(', ')', '<', '>', '_:b', '\\u0000', '\n', '#', 'tlsim:', '^^', '@en'];

fuzzTarget('foaf-profile', (t) => {
  t.property('write then parse gives the profile back', [profile], (doc) => {
    const me = doc.knows.filter((k) => k.fingerprint !== doc.fingerprint);
    const parsed = parseProfile(writeProfile(doc), doc.fingerprint);
    const got = { ...parsed, fields: { ...parsed.fields, interests: [...parsed.fields.interests].sort() } };
    const want = { fingerprint: doc.fingerprint, fields: strip(doc.fields), knows: me.map(strip), dropped: doc.knows.length === me.length ? [] : ['a self-loop (knows itself)'] };
    want.fields.interests.sort();
    return canon(strip(got)) === canon(want);
  }, { runs: 300 });

  t.property('any text: a bounded profile of that peer, or ProfileRefused', [fingerprint, fc.array(fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 8 })), { maxLength: 60 })], (fp, parts) => {
    const text = `@prefix foaf: <http://xmlns.com/foaf/0.1/> .\n<urn:tlsim:peer:${fp}> a foaf:Person ; ${parts.join(' ')}`;
    const r = outcome(() => parseProfile(text, fp));
    if (!r.ok) return r.error instanceof ProfileRefused;
    const p = r.value;
    return p.fingerprint === fp && p.knows.length <= PROFILE_LIMITS.maxKnows && p.knows.every((k) => k.fingerprint !== fp && /^[0-9a-f]{64}$/.test(k.fingerprint));
  }, { runs: 500 });

  t.property('random bytes never throw anything but ProfileRefused', [fc.uint8Array({ maxLength: 200 })], (bytes) => {
    const r = outcome(() => parseProfile(Buffer.from(bytes).toString('utf8'), '0'.repeat(64)));
    return r.ok || r.error instanceof ProfileRefused;
  }, { runs: 500 });
});
