// The journal sink's parts that need no journald: field names from log keys, the datagram's binary form for a
// value with newlines, and the fall-back to priority-prefixed stream lines when the relay cannot run (no python3),
// with nothing logged before that lost. The entries as journald stores them: test/interop/journald-native.test.ts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { journalEntry, journalFieldName, journalNativeLines } from '../../gateway/xmpp/journal.js';
import { tmpDir } from '../support/identities.js';

describe('journal entries', () => {
  it('log keys become journal field names; names journald gives a meaning to are kept apart', () => {
    expect(journalFieldName('peer')).toBe('PEER');
    expect(journalFieldName('linkId')).toBe('LINK_ID');
    expect(journalFieldName('c2s.port')).toBe('C2S_PORT');
    expect(journalFieldName('_private')).toBe('PRIVATE');
    expect(journalFieldName('priority')).toBe('TLSIM_PRIORITY');
    expect(journalFieldName('9lives')).toBe('LIVES');
    expect(journalFieldName('x'.repeat(100))).toHaveLength(64);
  });

  it('a value with a newline is sent in the binary form: name, 64-bit little-endian length, bytes', () => {
    const entry = journalEntry(`${JSON.stringify({ level: 40, msg: 'two\nlines', peer: 'ab' })}\n`);
    const at = entry.indexOf('MESSAGE\n');
    expect(at).toBe(0);
    expect(entry.readBigUInt64LE(8)).toBe(9n);
    expect(entry.subarray(16, 25).toString()).toBe('two\nlines');
    const rest = entry.subarray(26).toString();
    expect(rest).toContain('PRIORITY=4\n');
    expect(rest).toContain('PEER=ab\n');
  });

  it('without python3 the lines go to the stream with their priorities, the ones said before included', async () => {
    const socket = join(tmpDir('journal'), 'socket');
    writeFileSync(socket, '');
    const lines: string[] = [];
    const sink = journalNativeLines({ stream: { write: (l) => void lines.push(l) }, socket, python: 'no-such-python3' });
    sink.write('{"level":30,"msg":"first"}\n');
    await expect.poll(() => lines.length, { timeout: 10_000 }).toBeGreaterThan(1);
    sink.write('{"level":50,"msg":"second"}\n');
    expect(lines[0]).toMatch(/^<4>.*native fields are unavailable \(python3: ENOENT\)/);
    expect(lines.slice(1)).toEqual(['<6>{"level":30,"msg":"first"}\n', '<3>{"level":50,"msg":"second"}\n']);
  });
});
