// The GLib key file merge behind `setup profanity`: one group's keys change, every other byte stays.
import { describe, expect, it } from 'vitest';
import { escapeValue, KeyFileError, mergeGroup, readKeyFile } from '../../clients/profanity/keyfile.js';

describe('GLib key file merge', () => {
  it('adds a group after the others, separated by one blank line, and reads back what it wrote', () => {
    const old = '# top comment\n[a]\nx=1\n';
    const r = mergeGroup(old, 'b', { set: { y: ' two\tthree\\' } });
    expect(r).toMatchObject({ change: 'added', others: 1 });
    expect(r.text).toBe('# top comment\n[a]\nx=1\n\n[b]\ny=\\stwo\\tthree\\\\\n');
    expect(readKeyFile(r.text).get('b')?.get('y')).toBe(' two\tthree\\');
    expect(mergeGroup(undefined, 'b', { set: { y: '1' } }).text).toBe('[b]\ny=1\n');
  });

  it('changes keys in place, adds missing ones after the last key, removes what it is told, keeps the rest', () => {
    const old = '[me]\njid=me@localhost\n# mine\nport=5333\npassword=old\n\n[other]\njid=x@y\n';
    const r = mergeGroup(old, 'me', { set: { port: '5222', server: '127.0.0.1' }, defaults: { resource: 'profanity', jid: 'ignored' }, remove: ['password'] });
    expect(r).toMatchObject({ change: 'updated', others: 1 });
    expect(r.text).toBe('[me]\njid=me@localhost\n# mine\nport=5222\nresource=profanity\nserver=127.0.0.1\n\n[other]\njid=x@y\n');
    expect(mergeGroup(r.text, 'me', { set: { port: '5222' }, defaults: { resource: 'laptop' } }).change).toBe('unchanged');
  });

  it('copes with a last line without newline (one is added) and a header with no keys', () => {
    expect(mergeGroup('[me]', 'me', { set: { a: '1' } }).text).toBe('[me]\na=1\n');
    expect(mergeGroup('[me]\na=0', 'me', { set: { a: '1', b: '2' } }).text).toBe('[me]\na=1\nb=2\n');
  });

  it('refuses a file that is not a key file, naming the line', () => {
    expect(() => mergeGroup('[ok]\nnot a key line\n', 'me', { set: {} }, 'profanity accounts')).toThrow(KeyFileError);
    expect(() => readKeyFile('a=1\n', 'profanity accounts')).toThrow(/profanity accounts: line 1/);
    expect(escapeValue('a\nb')).toBe('a\\nb');
  });
});
