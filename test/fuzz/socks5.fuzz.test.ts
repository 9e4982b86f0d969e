// Fuzzing the SOCKS5 client's wire code (RFC 1928 replies, Tor's extended codes; bridge-protocol/transport/socks5.ts):
// any proxy answer parses to "need more", a reply of the right length, or PeerUnreachableError; CONNECT requests
// carry exactly the address asked for.
import fc from 'fast-check';
import { PeerUnreachableError } from '../../bridge-protocol/errors.js';
import { connectRequest, parseConnectReply } from '../../bridge-protocol/transport/socks5.js';
import { fuzzTarget, outcome } from './support.js';

/** A well-formed reply and the length the parser must report for it. */
const reply = fc
  .tuple(
    fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 255 })),
    fc.integer({ min: 0, max: 255 }),
    fc.oneof(
      fc.uint8Array({ minLength: 4, maxLength: 4 }).map((a) => [1, ...a]),
      fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => [4, ...a]),
      fc.uint8Array({ maxLength: 255 }).map((a) => [3, a.length, ...a]),
    ),
    fc.integer({ min: 0, max: 65535 }),
  )
  .map(([rep, rsv, addr, port]) => {
    const bytes = Buffer.from([5, rep, rsv, ...addr, port >> 8, port & 0xff]);
    return { bytes, rep, length: rep === 0 ? bytes.length : 2 };
  });

const ipv6Bytes = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b));
/** The spellings of one IPv6 address: full, compressed (as URL normalizes it), upper case, dotted IPv4 tail. */
function spellings(b: Buffer): string[] {
  const groups = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2).toString(16));
  const full = groups.join(':');
  const compressed = new URL(`http://[${full}]/`).hostname.slice(1, -1);
  const dotted = `${groups.slice(0, 6).join(':')}:${[...b.subarray(12)].join('.')}`;
  return [full, compressed, compressed.toUpperCase(), dotted, `[${compressed}]`];
}

fuzzTarget('socks5', (t) => {
  t.property('any bytes: null, a reply no longer than the input, or PeerUnreachableError', [fc.uint8Array({ maxLength: 40 })], (bytes) => {
    const r = outcome(() => parseConnectReply(bytes));
    if (!r.ok) return r.error instanceof PeerUnreachableError && r.error.reason === 'proxy-failed';
    return r.value === null || (r.value.length >= 2 && r.value.length <= bytes.length && r.value.reply === bytes[1]);
  }, { runs: 3000 });

  t.property('a reply is "need more" until its last byte, then exact whatever follows it', [reply, fc.uint8Array({ maxLength: 8 })], ({ bytes, rep, length }, after) => {
    for (let n = 0; n < length; n++) if (parseConnectReply(bytes.subarray(0, n)) !== null) return false;
    const whole = parseConnectReply(Buffer.concat([bytes, after]));
    return whole !== null && whole.reply === rep && whole.length === length;
  }, { runs: 2000 });

  t.property('CONNECT to an IPv4 or IPv6 address carries its 4 or 16 bytes and the port', [
    fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => ({ v4: Buffer.from(b) })), ipv6Bytes.map((v6) => ({ v6 }))),
    fc.nat(),
    fc.integer({ min: 1, max: 65535 }),
  ], (addr, which, port) => {
    const [atyp, bytes, hosts] = 'v4' in addr ? [1, addr.v4, [[...addr.v4].join('.')]] : [4, addr.v6, spellings(addr.v6)];
    const host = hosts[which % hosts.length]!;
    const req = connectRequest({ host, port });
    return req.equals(Buffer.concat([Buffer.from([5, 1, 0, atyp]), bytes, Buffer.from([port >> 8, port & 0xff])]));
  }, { runs: 2000 });

  t.property('CONNECT to a name sends the name for the proxy to resolve, or refuses it with PeerUnreachableError', [
    fc.string({ unit: fc.oneof(fc.constantFrom(...'abc.-0'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 300 }),
    fc.integer({ min: -2, max: 70000 }),
  ], (host, port) => {
    const r = outcome(() => connectRequest({ host, port }));
    if (!r.ok) return r.error instanceof PeerUnreachableError && r.error.reason === 'unsupported';
    const req = r.value;
    if (req[3] !== 3) return req[3] === 1 || req[3] === 4; // it was an IP literal
    const name = Buffer.from(host, 'utf8');
    return req.subarray(5, 5 + req[4]!).equals(name) && req.length === 7 + name.length && req.readUInt16BE(req.length - 2) === port;
  }, { runs: 2000 });
});
