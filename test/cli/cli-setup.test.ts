// `tlsim-gateway setup pidgin` on a copy of a real-looking ~/.purple/accounts.xml with two accounts (an XMPP
// one elsewhere and an IRC one): both survive byte for byte, ours is added, a backup is kept, the server
// certificate is pinned where libpurple looks, and a second run changes nothing. Python's XML parser
// (a real one, not ours) reads the result.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { interopSuite } from '../support/tools.js';
import { cliHome, runToEnd, useBuiltCli, type CliHome, type RunResult } from '../support/cli-program.js';
import { ALICE, EXISTING, IRC, parsedByPython } from '../support/pidgin-accounts.js';
import { readByGlib } from '../support/glib-keyfile.js';
import { spawnProc } from '../support/proc.js';
import Database from 'better-sqlite3';

const CLI = useBuiltCli('setup');
const T = 60_000;

function cli(h: CliHome, args: string[]): Promise<RunResult> {
  return runToEnd(process.execPath, [CLI, ...args, '--data-dir', h.dataDir], { env: h.env, timeout: T });
}

describe('setup pidgin', () => {
  it('adds our account next to two existing ones, pins the certificate, and a second run changes nothing', async () => {
    const h = cliHome('setup-pidgin');
    const purple = join(h.root, '.purple');
    const accounts = join(purple, 'accounts.xml');
    await mkdir(purple, { recursive: true });
    await writeFile(accounts, EXISTING, { mode: 0o600 });

    const dry = await cli(h, ['setup', 'pidgin', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('add me@localhost (2 other accounts kept)');
    expect(dry.stdout).toContain("+ \t\t\t<setting name='port' type='int'>5222</setting>");
    expect(dry.stdout).not.toContain((await readFile(join(h.dataDir, 'xmpp-password'), 'utf8')).trim());
    expect(await readFile(accounts, 'utf8')).toBe(EXISTING);
    expect(existsSync(join(purple, 'certificates'))).toBe(false);

    const run = await cli(h, ['setup', 'pidgin']);
    expect(run.code, run.stderr).toBe(0);
    const text = await readFile(accounts, 'utf8');
    expect(text).toContain(ALICE);
    expect(text).toContain(IRC);
    const password = (await readFile(join(h.dataDir, 'xmpp-password'), 'utf8')).trim();
    expect(parsedByPython(accounts)).toEqual([
      ['prpl-jabber', 'alice@example.org/Home', 's3cret & more', '5222'],
      ['prpl-irc', 'alice@irc.libera.chat', '', ''],
      ['prpl-jabber', 'me@localhost/pidgin', password, '5222'],
    ]);
    expect(statSync(accounts).mode & 0o777).toBe(0o600);
    const backups = readdirSync(purple).filter((f) => f.startsWith('accounts.xml.bak-'));
    expect(backups).toHaveLength(1);
    expect(await readFile(join(purple, backups[0]!), 'utf8')).toBe(EXISTING);
    const pinned = join(purple, 'certificates', 'x509', 'tls_peers', '127.0.0.1');
    expect(await readFile(pinned, 'utf8')).toBe(await readFile(join(h.dataDir, 'tls', 'server.pem'), 'utf8'));

    const again = await cli(h, ['setup', 'pidgin']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('already set up');
    expect(again.stdout).toContain('already pinned');
    expect(await readFile(accounts, 'utf8')).toBe(text);
    expect(readdirSync(purple).filter((f) => f.startsWith('accounts.xml.bak-'))).toHaveLength(1);
  }, T);

  it('a new port updates our account only; no accounts.xml yet makes one; a broken file is left alone', async () => {
    const h = cliHome('setup-pidgin-2');
    const purple = join(h.root, '.purple');
    const accounts = join(purple, 'accounts.xml');
    expect((await cli(h, ['setup', 'pidgin'])).code).toBe(0);
    expect(parsedByPython(accounts).map((a) => a[1])).toEqual(['me@localhost/pidgin']);
    const moved = await cli(h, ['setup', 'pidgin', '--c2s-port', '5333']);
    expect(moved.stdout).toContain('update me@localhost (0 other accounts kept)');
    expect(parsedByPython(accounts).map((a) => a[3])).toEqual(['5333']);

    await writeFile(accounts, "<account version='1.0'><account><name>x</name></account>");
    const broken = await cli(h, ['setup', 'pidgin']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/accounts.xml is not well-formed/);
    expect(await readFile(accounts, 'utf8')).toBe("<account version='1.0'><account><name>x</name></account>");
  }, T);

  it('dino: adds the account to an existing dino.db beside another one, says how to trust the CA, and a second run changes nothing', async () => {
    const h = cliHome('setup-dino');
    const file = join(h.root, 'data', 'dino', 'dino.db');
    await mkdir(dirname(file), { recursive: true });
    // Dino's own account table, with an account of the user's.
    const db = new Database(file);
    db.exec('CREATE TABLE account ( id INTEGER PRIMARY KEY AUTOINCREMENT, bare_jid TEXT NOT NULL UNIQUE, resourcepart TEXT, password TEXT, alias TEXT, enabled INTEGER, roster_version TEXT, mam_earliest_synced INTEGER)');
    db.prepare("INSERT INTO account (bare_jid, resourcepart, password, alias, enabled) VALUES ('alice@example.org', 'dino.x1', 'hers', 'work', 1)").run();
    db.close();
    const dry = await cli(h, ['setup', 'dino', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('add account me@localhost (1 other account kept)');
    expect(dry.stdout).toContain('(dry run: nothing written)');
    const r = await cli(h, ['setup', 'dino']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`sudo cp ${join(h.dataDir, 'tls', 'ca.pem')} /usr/local/share/ca-certificates/tlsim-gateway.crt`);
    const password = (await readFile(join(h.dataDir, 'xmpp-password'), 'utf8')).trim();
    const after = new Database(file, { readonly: true });
    const rows = after.prepare('SELECT bare_jid, password, enabled FROM account ORDER BY id').all() as { bare_jid: string; password: string; enabled: number }[];
    after.close();
    expect(rows.map((x) => x.bare_jid)).toEqual(['alice@example.org', 'me@localhost']);
    expect(rows[0]!.password).toBe('hers');
    expect(rows[1]!.enabled).toBe(1);
    expect(rows[1]!.password).toBe(password);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await cli(h, ['setup', 'dino'])).stdout).toContain('me@localhost is already set up (1 other account kept); nothing to change.');
    expect((await cli(h, ['setup', 'kopete'])).code).toBe(2);
  }, T);
});

// GLib's own GKeyFile (through PyGObject) reads what we write: the parser Profanity uses.
interopSuite('setup profanity', ['pygobject', 'openssl'], () => {
  const OTHER = '[work]\n# my work account\njid=alice@example.org\npassword=s3cret = more\nenabled=true\n\n';
  it('adds our account next to another one, pins the certificate by its SHA-1, and a second run changes nothing', async () => {
    const h = cliHome('setup-profanity');
    const dir = join(h.root, 'data', 'profanity');
    const accounts = join(dir, 'accounts');
    await mkdir(dir, { recursive: true });
    await writeFile(accounts, OTHER, { mode: 0o600 });

    const dry = await cli(h, ['setup', 'profanity', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('add account me@localhost (1 other account kept)');
    expect(await readFile(accounts, 'utf8')).toBe(OTHER);
    expect(existsSync(join(dir, 'tlscerts'))).toBe(false);

    const run = await cli(h, ['setup', 'profanity']);
    expect(run.code, run.stderr).toBe(0);
    const text = await readFile(accounts, 'utf8');
    expect(text.startsWith(OTHER)).toBe(true);
    const passwordFile = join(h.dataDir, 'xmpp-password');
    const read = readByGlib(accounts);
    expect(read.work).toEqual({ jid: 'alice@example.org', password: 's3cret = more', enabled: 'true' });
    expect(read['me@localhost']).toEqual({
      resource: 'profanity',
      'muc.nick': 'me',
      enabled: 'true',
      jid: 'me@localhost',
      server: '127.0.0.1',
      port: '5222',
      'tls.policy': 'force',
      eval_password: `cat '${passwordFile}'`,
    });
    // What Profanity runs gives the password (and no copy of it is written).
    const password = (await readFile(passwordFile, 'utf8')).trim();
    const evaluated = await spawnProc('sh', ['-c', read['me@localhost']!.eval_password!]);
    await evaluated.exited;
    expect(evaluated.output('stdout').trim()).toBe(password);
    expect(text).not.toContain(password);
    expect(statSync(accounts).mode & 0o777).toBe(0o600);

    // Profanity names the certificate by its SHA-1 as openssl prints it, lower case and without colons.
    const fp = await spawnProc('openssl', ['x509', '-in', join(h.dataDir, 'tls', 'server.pem'), '-noout', '-fingerprint', '-sha1']);
    await fp.exited;
    const sha1 = /=([0-9A-F:]+)/.exec(fp.output('stdout'))![1]!.replace(/:/g, '').toLowerCase();
    const certs = readByGlib(join(dir, 'tlscerts'));
    expect(Object.keys(certs)).toEqual([sha1]);
    expect(certs[sha1]).toMatchObject({ version: '3', subjectname: '/CN=localhost', keyalg: 'rsaEncryption' });
    expect(statSync(join(dir, 'tlscerts')).mode & 0o777).toBe(0o600);

    const again = await cli(h, ['setup', 'profanity']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('already set up');
    expect(again.stdout).toContain('already trusted');
    expect(await readFile(accounts, 'utf8')).toBe(text);
    expect(readdirSync(dir).filter((f) => f.startsWith('accounts.bak-'))).toHaveLength(1);
  }, T);

  it('an account the user made by hand for our JID is updated in place: its other keys stay, the saved password goes', async () => {
    const h = cliHome('setup-profanity-2');
    const dir = join(h.root, 'data', 'profanity');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'accounts'), '[me]\njid=me@localhost\nport=5333\npassword=old\nresource=laptop\notr.policy=manual\n', { mode: 0o600 });
    const run = await cli(h, ['setup', 'profanity']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('update account me (0 other accounts kept)');
    const me = readByGlib(join(dir, 'accounts')).me!;
    expect(me).toMatchObject({ jid: 'me@localhost', port: '5222', resource: 'laptop', 'otr.policy': 'manual', 'muc.nick': 'me' });
    expect(me.password).toBeUndefined();

    await writeFile(join(dir, 'accounts'), 'jid=no group\n');
    const broken = await cli(h, ['setup', 'profanity']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/profanity accounts: line 1 is neither/);
  }, T);
});

describe('setup gajim', () => {
  const accounts = (file: string): Record<string, Record<string, unknown>> => {
    const db = new Database(file, { readonly: true });
    try {
      const rows = db.prepare('SELECT account, settings FROM account_settings').all() as { account: string; settings: string }[];
      return Object.fromEntries(rows.map((r) => [r.account, (JSON.parse(r.settings) as { account: Record<string, unknown> }).account]));
    } finally {
      db.close();
    }
  };

  it('makes Gajim settings with our account, keeps an account added later, and a second run changes nothing', async () => {
    const h = cliHome('setup-gajim');
    const settings = join(h.root, 'config', 'gajim', 'settings.sqlite');
    const dry = await cli(h, ['setup', 'gajim', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(existsSync(settings)).toBe(false);
    const run = await cli(h, ['setup', 'gajim']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('add account localhost (0 other accounts kept)');
    const password = (await readFile(join(h.dataDir, 'xmpp-password'), 'utf8')).trim();
    expect(accounts(settings).localhost).toMatchObject({ name: 'me', hostname: 'localhost', custom_host: '127.0.0.1', custom_port: 5222, custom_type: 'START TLS', active: true, password });
    expect(statSync(settings).mode & 0o777).toBe(0o600);
    const certs = readdirSync(join(h.root, 'data', 'gajim', 'cert_store'));
    expect(certs).toHaveLength(1);
    expect(await readFile(join(h.root, 'data', 'gajim', 'cert_store', certs[0]!), 'utf8')).toBe(await readFile(join(h.dataDir, 'tls', 'server.pem'), 'utf8'));

    const db = new Database(settings);
    db.prepare('INSERT INTO account_settings(account, settings) VALUES (?, ?)').run('example.org', JSON.stringify({ account: { name: 'alice', hostname: 'example.org' }, contact: {}, group_chat: {} }));
    db.close();
    const again = await cli(h, ['setup', 'gajim']);
    expect(again.stdout).toContain('already set up (1 other account kept)');
    expect(again.stdout).toContain('already trusted');
    const moved = await cli(h, ['setup', 'gajim', '--c2s-port', '5333']);
    expect(moved.stdout).toContain('update account localhost (1 other account kept)');
    expect(accounts(settings)).toMatchObject({ 'example.org': { name: 'alice' }, localhost: { custom_port: 5333 } });
  }, T);
});
