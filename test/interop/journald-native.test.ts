// Logs in journald's structured form, read back from a real systemd-journald (a journal namespace of the test's
// own, test/support/journald.ts): entries sent natively (_TRANSPORT=journal), with PRIORITY, the message, the
// line's keys as fields, multi-line values intact and an entry too big for a datagram sent as a memfd; and the
// gateway itself, started as systemd starts a unit (standard error on the journal's stream), logging so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journalNativeLines } from '../../gateway/xmpp/journal.js';
import { cliHome, useBuiltCli } from '../support/cli-program.js';
import { fieldText, startJournal, type JournalEntry, type TestJournal } from '../support/journald.js';
import { isCI, interopSuite } from '../support/tools.js';
import { killAll, spawnProc } from '../support/proc.js';

const T = 60_000;
const asRoot = process.getuid?.() === 0;
const NEEDS = ['systemd-journald', 'journalctl', 'unshare', 'python3'];
const CLI = useBuiltCli('journald');

/** The stream a test writes to when the native path is not taken (it must not be). */
function recordingStream(): { lines: string[]; write(line: string): void } {
  const lines: string[] = [];
  return { lines, write: (line) => void lines.push(line) };
}

async function entryWith(journal: TestJournal, match: (e: JournalEntry) => boolean, ...filters: string[]): Promise<JournalEntry> {
  let found: JournalEntry | undefined;
  await expect.poll(() => (found = journal.entries(...filters).find(match)), { timeout: 20_000, interval: 200 }).toBeDefined();
  return found!;
}

const suite = asRoot || isCI ? interopSuite : (name: string, _tools: string[], fn: () => void) => {
  console.warn(`\n!!! SKIPPING "${name}": it runs systemd-journald, which needs root (run the tests as root or under sudo)\n`);
  describe.skip(`${name} [SKIPPED: needs root]`, fn);
};

suite('journald: structured entries, natively', NEEDS, () => {
  let journal: TestJournal;
  beforeAll(async () => {
    if (!asRoot) throw new Error('systemd-journald needs root: CI runs the tests as root');
    journal = await startJournal();
  }, T);
  afterAll(async () => {
    await killAll();
    await journal?.stop();
  });

  it('each line is an entry of its own: message, priority, its keys as fields, a stack trace with its newlines', async () => {
    const stream = recordingStream();
    const sink = journalNativeLines({ stream, socket: journal.socket });
    const err = new Error('link refused');
    sink.write(`${JSON.stringify({ level: 30, time: Date.now(), pid: 4242, name: 'tlsim-gateway', peer: 'ab12cd', linkId: 7, msg: 'peer linked' })}\n`);
    sink.write(`${JSON.stringify({ level: 50, time: Date.now(), pid: 4242, name: 'tlsim-gateway', err: { type: 'Error', message: err.message, stack: err.stack, errno: -111, code: 'ECONNREFUSED' }, msg: 'dial failed' })}\n`);
    const linked = await entryWith(journal, (e) => e.MESSAGE === 'peer linked', 'SYSLOG_IDENTIFIER=tlsim-gateway');
    expect(linked).toMatchObject({ PRIORITY: '6', PEER: 'ab12cd', LINK_ID: '7', SYSLOG_PID: '4242', _TRANSPORT: 'journal' });
    const failed = await entryWith(journal, (e) => e.MESSAGE === 'dial failed', 'PRIORITY=3');
    expect(failed).toMatchObject({ ERRNO: '111', ERROR_CODE: 'ECONNREFUSED', ERROR_MESSAGE: 'link refused' });
    expect(fieldText(failed.ERROR_STACK)).toBe(err.stack);
    expect(fieldText(failed.ERROR_STACK)).toContain('\n    at ');
    // journalctl filters on a field the gateway gave.
    expect(journal.entries('PEER=ab12cd').map((e) => e.MESSAGE)).toEqual(['peer linked']);
    expect(stream.lines).toEqual([]);
  }, T);

  it('an entry bigger than a datagram arrives whole (sent as a sealed memfd)', async () => {
    const sink = journalNativeLines({ stream: recordingStream(), socket: journal.socket });
    const big: Record<string, string> = {};
    for (let i = 0; i < 12; i++) big[`part${i}`] = String(i % 10).repeat(30_000);
    sink.write(`${JSON.stringify({ level: 40, time: Date.now(), name: 'tlsim-gateway', ...big, msg: 'a large entry' })}\n`);
    const e = await entryWith(journal, (x) => x.MESSAGE === 'a large entry', 'SYSLOG_IDENTIFIER=tlsim-gateway');
    expect(e.PRIORITY).toBe('4');
    for (let i = 0; i < 12; i++) expect(fieldText(e[`PART${i}`]), `PART${i}`).toBe(String(i % 10).repeat(30_000));
  }, T);

  it('the gateway run as a unit: its lines are native journal entries, `journalctl -p warning` finds its warnings', async () => {
    const h = cliHome('tlsim-journal');
    const { socket, journalStream } = await journal.stream('tlsim-gateway');
    const [cmd, args] = journal.inNamespace(process.execPath, [CLI, 'run', '--c2s-port', '0', '--peer-port', '0', '--websocket-port', '0']);
    // No OpenSSL settings on purpose (NODE_OPTIONS empty): the gateway warns about it, a warning in the journal.
    const gw = await spawnProc(cmd, args, { env: { ...h.env, JOURNAL_STREAM: journalStream, NODE_OPTIONS: '' }, stdin: 'ignore', stderr: socket });
    try {
      const started = await entryWith(journal, (e) => /^gateway started/.test(String(e.MESSAGE)), 'SYSLOG_IDENTIFIER=tlsim-gateway');
      expect(started).toMatchObject({ PRIORITY: '6', _TRANSPORT: 'journal', SYSLOG_PID: String(gw.pid) });
      const warnings = journal.entries('SYSLOG_IDENTIFIER=tlsim-gateway', '-p', 'warning');
      expect(warnings.length).toBeGreaterThan(0);
      for (const w of warnings) expect(Number(w.PRIORITY), String(w.MESSAGE)).toBeLessThanOrEqual(4);
      // Nothing came as JSON text on the stream: every line of the gateway is a native entry.
      expect(journal.entries('_TRANSPORT=stdout').filter((e) => String(e.MESSAGE).includes('"level"'))).toEqual([]);
    } finally {
      await gw.kill();
      socket.destroy();
    }
  }, T);
});
