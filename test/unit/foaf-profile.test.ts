// The own FOAF profile (issue 13, stage 1): edited with the gateway commands, written as Turtle by n3 and read
// back by an independent parser (Debian's rdflib): the right triples, and nothing about unpublished contacts.
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { runCommandLine, type CommandContext } from '../../gateway/commands/index.js';
import { parseProfile } from '../../gateway/directory/profile-rdf.js';
import { directoryFixture, fp, rdflibTriples } from '../support/foaf.js';
import { removeTmpDirs } from '../support/identities.js';

afterAll(() => removeTmpDirs());

const FOAF = 'http://xmlns.com/foaf/0.1/';
const BOB = fp('b');
const EVE = fp('e');

function setup() {
  const f = directoryFixture();
  f.addContact(BOB, 'Bob Builder', '10.0.0.2:18765');
  f.addContact(EVE, 'Secret Eve', '10.0.0.5:18765');
  const ctx: CommandContext = { network: f.network, peerDomain: 'peers.localhost' };
  return { ...f, line: (l: string) => runCommandLine(ctx, l) };
}

describe('own FOAF profile', () => {
  it('is a foaf:Person with what the user set, and rdflib reads exactly those triples', async () => {
    const f = setup();
    for (const l of ['profile set nick alice', 'profile set name Alice "Al" Liddell', 'profile set interest chess, tor , chess', 'profile set place Lyon', 'profile set description Likes tea\nand cake', 'profile set email alice@example.org']) {
      expect((await f.line(l)).ok, l).toBe(true);
    }
    const me = `<urn:tlsim:peer:${f.self}>`;
    const triples = rdflibTriples(f.directory.turtle());
    const sha1 = createHash('sha1').update('mailto:alice@example.org').digest('hex');
    expect(triples).toEqual(
      [
        `${me} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <${FOAF}Person>`,
        `${me} <${FOAF}nick> "alice"`,
        `${me} <${FOAF}name> "Alice \\"Al\\" Liddell"`,
        `${me} <${FOAF}mbox_sha1sum> "${sha1}"`,
        `${me} <${FOAF}interest> _:b`,
        `${me} <${FOAF}interest> _:b`,
        `${me} <${FOAF}based_near> _:b`,
        `${me} <http://purl.org/dc/terms/description> "Likes tea and cake"`,
        `${me} <urn:tlsim:vocab#fingerprint> "${f.self}"`,
        `${me} <urn:tlsim:vocab#share> "tlsim://${f.self}@127.0.0.1:18765"`,
        `_:b <http://www.w3.org/2000/01/rdf-schema#label> "chess"`,
        `_:b <http://www.w3.org/2000/01/rdf-schema#label> "tor"`,
        `_:b <http://www.w3.org/2000/01/rdf-schema#label> "Lyon"`,
      ].sort(),
    );
    // The address itself is never kept: only its SHA-1.
    expect(JSON.stringify(f.store.foaf.profile(f.account))).not.toContain('alice@example.org');
  });

  it('lists no contact by default; publish lists one, with its address, and never the others', async () => {
    const f = setup();
    expect(rdflibTriples(f.directory.turtle()).some((t) => t.includes(`${FOAF}knows`))).toBe(false);
    expect((await f.line('publish Bob Builder')).text).toMatch(/^Published Bob Builder/);
    const turtle = f.directory.turtle();
    const triples = rdflibTriples(turtle);
    const bob = `<urn:tlsim:peer:${BOB}>`;
    expect(triples).toContain(`<urn:tlsim:peer:${f.self}> <${FOAF}knows> ${bob}`);
    expect(triples).toContain(`${bob} <${FOAF}nick> "Bob Builder"`);
    expect(triples).toContain(`${bob} <urn:tlsim:vocab#share> "tlsim://${BOB}@10.0.0.2:18765"`);
    // Nothing about Eve: not her fingerprint, name or address.
    for (const secret of [EVE, 'Secret Eve', '10.0.0.5']) expect(turtle).not.toContain(secret);
    // Our own reader agrees with rdflib.
    expect(parseProfile(turtle, f.self).knows).toEqual([{ fingerprint: BOB, nick: 'Bob Builder', share: `tlsim://${BOB}@10.0.0.2:18765` }]);

    expect((await f.line('unpublish bob builder')).ok).toBe(true);
    expect(f.directory.turtle()).not.toContain(BOB);
  });

  it('a removed contact is no longer published', async () => {
    const f = setup();
    await f.line('publish Bob Builder');
    f.store.contacts.remove(f.account, BOB);
    expect(f.directory.turtle()).not.toContain(BOB);
  });

  it('commands say what is wrong: an unknown field, a stranger, a value too long', async () => {
    const f = setup();
    expect((await f.line('profile set age 12')).text).toMatch(/no profile field age; one of nick, name/);
    expect((await f.line(`publish ${fp('9')}`)).text).toMatch(/no contact with fingerprint/);
    expect((await f.line(`profile set name ${'x'.repeat(2000)}`)).text).toMatch(/longer than 1024/);
    expect((await f.line('profile frob')).text).toMatch(/profile set <field> <value>/);
    const shown = await f.line('profile');
    expect(shown.text).toMatch(/Nick: \(not set\)/);
    expect(shown.text).toMatch(/Published contacts: none/);
  });
});
