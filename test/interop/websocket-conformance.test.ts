// The XMPP WebSocket endpoint (RFC 6455 + RFC 7395) against an independent WebSocket implementation:
// Debian's python3-autobahn sends each case of clients/autobahn/ws_cases.py (sections of the Autobahn
// test suite: framing, pings, reserved bits and opcodes, fragmentation, UTF-8, close handling, limits;
// then RFC 7395's one-element-per-message rule) on its own connection. What the server must answer is
// here, from the RFCs: a pong that echoes, close 1002 for protocol errors, 1007 for bad UTF-8, 1009 past
// the size limit, the peer's close code echoed, and an XMPP stream error for what is WebSocket-valid but
// not RFC 7395. The last case shows the endpoint still serving after all of it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SYSTEM_PYTHON } from '../../clients/slixmpp/driver.js';
import { runToEnd } from '../support/cli-program.js';
import { interopSuite } from '../support/tools.js';
import { startInProcessGateway, type E2eGateway } from '../e2e/support/gateway.js';

const SCRIPT = new URL('../../clients/autobahn/ws_cases.py', import.meta.url).pathname;
const T = 180_000;

interface CaseResult {
  case: string;
  opened: boolean;
  messages: string[];
  pongs: string[];
  serverClose: number | null;
  timeout?: boolean;
  error?: string;
}

/** What the server must do, per case: its close code, and what it said or echoed before. */
const OPENS = /^<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' id='[0-9a-f]+' from='localhost'/;
type Expect = { close: number; features?: true; pong?: string; streamError?: string };
const EXPECT: Record<string, Expect> = {
  '1.1 the open in one text frame': { close: 1000, features: true },
  '1.2 the open in 1-byte fragments': { close: 1000, features: true },
  '1.3 the open written to TCP a byte at a time': { close: 1000, features: true },
  '2.1 ping with a 125-byte payload': { close: 1000, pong: '*'.repeat(125) },
  '2.2 ping with a 126-byte payload': { close: 1002 },
  '2.3 fragmented ping': { close: 1002 },
  '2.4 unsolicited pong, then the open': { close: 1000, features: true },
  '2.5 ping between two fragments of the open': { close: 1000, features: true, pong: 'mid' },
  '3.1 RSV1 set without an extension': { close: 1002 },
  '3.2 RSV3 set on a ping': { close: 1002 },
  '4.1 reserved data opcode 3': { close: 1002 },
  '4.2 reserved control opcode 11': { close: 1002 },
  '5.1 continuation with nothing to continue': { close: 1002 },
  '5.2 a new text frame inside a fragmented message': { close: 1002 },
  '6.1 invalid UTF-8 in a text frame': { close: 1007 },
  '6.2 a code point split across fragments': { close: 1000, features: true },
  '6.3 an overlong encoding (C0 AF)': { close: 1007 },
  '7.1 close 1000 with a reason': { close: 1000 },
  '7.2 close with a 1-byte payload': { close: 1002 },
  '7.3 close code 999': { close: 1002 },
  '7.4 close code 1005 (never on the wire)': { close: 1002 },
  '7.5 close code 5000': { close: 1002 },
  '7.6 close code 3000 (registered range)': { close: 3000 },
  '7.7 close reason in invalid UTF-8': { close: 1007 },
  '7.8 a text frame after the close': { close: 1000 },
  '9.1 a message over the size limit': { close: 1009 },
  '9.2 an unmasked client frame': { close: 1002 },
  '7395.1 a binary frame': { close: 1000, streamError: 'bad-format' },
  '7395.2 half an element': { close: 1000, streamError: 'not-well-formed' },
  '7395.3 two elements in one message': { close: 1000, streamError: 'not-well-formed' },
  '10.1 after all the others, the open in one text frame': { close: 1000, features: true },
};

interopSuite('interop: the WebSocket endpoint against python3-autobahn (RFC 6455 / RFC 7395 cases)', ['autobahn'], () => {
  let gw: E2eGateway;
  let results: CaseResult[];

  beforeAll(async () => {
    gw = await startInProcessGateway({ websocket: true });
    // Over the limit: the stanza limit plus the framing allowance the listener adds.
    const big = String(300 * 1024);
    const run = await runToEnd(SYSTEM_PYTHON, [SCRIPT, '127.0.0.1', String(gw.status.websocketPort), big], { env: process.env, timeout: T - 10_000 });
    if (run.code !== 0) throw new Error(`ws_cases.py failed (${run.code}): ${run.stderr}`);
    results = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as CaseResult);
  }, T);
  afterAll(() => gw?.stop());

  it('runs every case, each on a connection the server accepted', () => {
    expect(results.map((r) => r.case)).toEqual(Object.keys(EXPECT));
    for (const r of results) expect({ case: r.case, opened: r.opened, timeout: r.timeout, error: r.error }).toEqual({ case: r.case, opened: true, timeout: undefined, error: undefined });
  });

  it.each(Object.entries(EXPECT))('%s', (name, want) => {
    const r = results.find((c) => c.case === name)!;
    expect(r.serverClose, JSON.stringify(r)).toBe(want.close);
    if (want.features) {
      expect(r.messages[0]).toMatch(OPENS);
      expect(r.messages[1]).toContain('<mechanism>SCRAM-SHA-256</mechanism>');
    } else if (want.streamError) {
      expect(r.messages.join('')).toContain(`<${want.streamError} xmlns="urn:ietf:params:xml:ns:xmpp-streams"/>`);
      expect(r.messages.at(-1)).toBe("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
    } else {
      expect(r.messages).toEqual([]);
    }
    expect(r.pongs).toEqual(want.pong ? [want.pong] : []);
  });
});
