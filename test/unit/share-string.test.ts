// What a user can paste as a contact (tlsim://fp@host:port) or a peer address, and the reasons shown when it is wrong.
import { describe, expect, it } from 'vitest';
import {
  AddressError,
  ShareStringError,
  formatAddress,
  formatReferenceAddress,
  formatShareString,
  parseAddress,
  parseShareString,
} from '../../gateway/bridge/share-string.js';

const FP = 'c287d5c7a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718cbf5f80a';
// Real v3 onion names (DuckDuckGo, the Tor Project): their checksums are right.
const ONION = 'duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion';
const ONION2 = '2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion';

describe('share strings', () => {
  it('round-trips every kind of host', () => {
    for (const host of ['192.0.2.7', '::1', '2001:db8::5', 'peer.example.org', 'localhost', ONION, ONION2]) {
      const s = formatShareString({ fingerprint: FP, host, port: 18765 });
      expect(parseShareString(s)).toEqual({ fingerprint: FP, host, port: 18765 });
    }
  });

  it('writes IPv6 in brackets so the port stays readable', () => {
    expect(formatShareString({ fingerprint: FP, host: '::1', port: 18765 })).toBe(`tlsim://${FP}@[::1]:18765`);
    expect(formatShareString({ fingerprint: FP, host: ONION, port: 18765 })).toBe(`tlsim://${FP}@${ONION}:18765`);
  });

  it('accepts what people paste: surrounding whitespace, uppercase hex and host, uppercase scheme', () => {
    const pasted = `  \tTLSIM://${FP.toUpperCase()}@${ONION.toUpperCase()}:18765\n`;
    expect(parseShareString(pasted)).toEqual({ fingerprint: FP, host: ONION, port: 18765 });
  });

  it.each([
    ['https://x@y:1', 'not a tlsim share string: it must start with tlsim://'],
    [`tlsim://${FP}`, 'not a tlsim share string: missing "@" between the fingerprint and the address'],
    [`tlsim://${FP.slice(1)}@h:1`, 'not a tlsim share string: fingerprint must be 64 hex characters'],
    [`tlsim://${FP.slice(1)}g@h:1`, 'not a tlsim share string: fingerprint must be 64 hex characters'],
    [`tlsim://${FP}@host`, 'not a tlsim share string: missing ":port" after the host'],
    [`tlsim://${FP}@host:0`, 'not a tlsim share string: port must be a number from 1 to 65535'],
    [`tlsim://${FP}@host:65536`, 'not a tlsim share string: port must be a number from 1 to 65535'],
    [`tlsim://${FP}@host:18765/`, 'not a tlsim share string: port must be a number from 1 to 65535'],
    [`tlsim://${FP}@:18765`, 'not a tlsim share string: host is empty'],
    [`tlsim://${FP}@::1:18765`, 'not a tlsim share string: an IPv6 address needs brackets: [addr]:port'],
    [`tlsim://${FP}@[nope]:18765`, 'not a tlsim share string: brackets must hold an IPv6 address'],
    [`tlsim://${FP}@300.1.1.1:18765`, 'not a tlsim share string: "300.1.1.1" is not a valid IPv4 address'],
    [`tlsim://${FP}@bad_host.org:1`, 'not a tlsim share string: "bad_host.org" is not a valid host name'],
    [`tlsim://${FP}@-x.org:1`, 'not a tlsim share string: "-x.org" is not a valid host name'],
    [`tlsim://${FP} @h:1`, 'not a tlsim share string: fingerprint must be 64 hex characters'],
  ])('rejects %s with a reason', (input, message) => {
    expect(() => parseShareString(input)).toThrow(new ShareStringError(message.replace('not a tlsim share string: ', '')));
    expect(() => parseShareString(input)).toThrow(message);
  });

  it('rejects a v2 onion address with advice, and a mistyped v3 one by its checksum', () => {
    expect(() => parseShareString(`tlsim://${FP}@expyuzz4wqqyqhjn.onion:18765`)).toThrow(/v2 onion addresses .* v3 address/);
    const typo = ONION.replace('duck', 'duca');
    expect(() => parseShareString(`tlsim://${FP}@${typo}:18765`)).toThrow(/checksum is wrong/);
    expect(() => parseShareString(`tlsim://${FP}@${ONION.slice(1)}:18765`)).toThrow(/56 characters/);
  });

  it('refuses to format what it could not parse back', () => {
    expect(() => formatShareString({ fingerprint: 'abc', host: 'h', port: 1 })).toThrow(ShareStringError);
    expect(() => formatShareString({ fingerprint: FP, host: '0.0.0', port: 1 })).toThrow(/not a valid IPv4/);
    expect(() => formatShareString({ fingerprint: FP, host: 'h', port: 0 })).toThrow(/port must be/);
  });
});

describe('peer addresses', () => {
  it('reads our "host:port" and the reference address file "host port\\n"', () => {
    expect(parseAddress('peer.example.org:18765')).toEqual({ host: 'peer.example.org', port: 18765 });
    expect(parseAddress(`${ONION} 18765\n`)).toEqual({ host: ONION, port: 18765 });
    expect(parseAddress('192.0.2.1   18765')).toEqual({ host: '192.0.2.1', port: 18765 });
    expect(parseAddress('[2001:DB8::1]:18765')).toEqual({ host: '2001:db8::1', port: 18765 });
    expect(parseAddress('::1 18765')).toEqual({ host: '::1', port: 18765 });
    expect(parseAddress('[::1] 18765')).toEqual({ host: '::1', port: 18765 });
  });

  it('writes both forms', () => {
    expect(formatAddress({ host: '::1', port: 5 })).toBe('[::1]:5');
    expect(formatAddress({ host: 'a.b', port: 5 })).toBe('a.b:5');
    expect(formatReferenceAddress({ host: '::1', port: 5 })).toBe('::1 5');
  });

  it.each([
    ['hostonly', 'expected "host:port" or "host port"'],
    ['::1:18765', 'an IPv6 address needs brackets'],
    ['h:x', 'port must be a number from 1 to 65535'],
    ['h 1 2', 'port must be a number from 1 to 65535'],
    ['', 'expected "host:port" or "host port"'],
  ])('rejects %j', (input, reason) => {
    expect(() => parseAddress(input)).toThrow(AddressError);
    expect(() => parseAddress(input)).toThrow(reason);
  });
});
