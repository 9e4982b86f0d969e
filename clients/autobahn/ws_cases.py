#!/usr/bin/python3
# WebSocket conformance cases against the gateway's XMPP-over-WebSocket endpoint (RFC 6455, RFC 7395),
# sent with Debian's python3-autobahn, an independent WebSocket implementation whose low-level
# sendFrame() writes any frame, valid or not (what Autobahn's own test suite is built on; the suite,
# wstest, is not packaged in Debian). The cases follow the suite's sections: 1 framing, 2 pings,
# 3 reserved bits, 4 opcodes, 5 fragmentation, 6 UTF-8, 7 close handling, 9 limits; then RFC 7395's
# own rules. Each case runs on a fresh connection and prints one JSON line of what came back; the test
# (test/interop/websocket-conformance.test.ts) holds the expectations.
#
# usage: ws_cases.py HOST PORT [MAX_PAYLOAD]
import asyncio
import json
import sys

from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol

HOST, PORT = sys.argv[1], int(sys.argv[2])
BIG = int(sys.argv[3]) if len(sys.argv) > 3 else 300 * 1024
OPEN = "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>".encode()
CASE_TIMEOUT = 8.0

TEXT, BINARY, CONT, CLOSE, PING, PONG = 1, 2, 0, 8, 9, 10


def close_payload(code, reason=b''):
    return code.to_bytes(2, 'big') + reason


def fragments(data, n):
    """The message `data` as n text frames: a first frame and continuations, FIN on the last."""
    step = max(1, len(data) // n)
    parts = [data[i:i + step] for i in range(0, len(data), step)]
    return [(TEXT if i == 0 else CONT, p, i == len(parts) - 1) for i, p in enumerate(parts)]


def frames(p, seq):
    for op, payload, fin in seq:
        p.sendFrame(op, payload, fin=fin)


# name -> what the client does once the WebSocket is open
CASES = {
    '1.1 the open in one text frame': lambda p: p.sendFrame(TEXT, OPEN),
    '1.2 the open in 1-byte fragments': lambda p: frames(p, fragments(OPEN, len(OPEN))),
    '1.3 the open written to TCP a byte at a time': lambda p: p.sendFrame(TEXT, OPEN, chopsize=1),
    '2.1 ping with a 125-byte payload': lambda p: p.sendFrame(PING, b'*' * 125),
    '2.2 ping with a 126-byte payload': lambda p: p.sendFrame(PING, b'*' * 126),
    '2.3 fragmented ping': lambda p: p.sendFrame(PING, b'ping', fin=False),
    '2.4 unsolicited pong, then the open': lambda p: (p.sendFrame(PONG, b'unasked'), p.sendFrame(TEXT, OPEN)),
    '2.5 ping between two fragments of the open': lambda p: frames(p, [(TEXT, OPEN[:20], False), (PING, b'mid', True), (CONT, OPEN[20:], True)]),
    '3.1 RSV1 set without an extension': lambda p: p.sendFrame(TEXT, OPEN, rsv=4),
    '3.2 RSV3 set on a ping': lambda p: p.sendFrame(PING, b'x', rsv=1),
    '4.1 reserved data opcode 3': lambda p: p.sendFrame(3, b'x'),
    '4.2 reserved control opcode 11': lambda p: p.sendFrame(11, b'x'),
    '5.1 continuation with nothing to continue': lambda p: p.sendFrame(CONT, OPEN),
    '5.2 a new text frame inside a fragmented message': lambda p: frames(p, [(TEXT, OPEN[:20], False), (TEXT, OPEN[20:], True)]),
    '6.1 invalid UTF-8 in a text frame': lambda p: p.sendFrame(TEXT, b'<open \xce\xba\xe1\xbd'),
    '6.2 a code point split across fragments': lambda p: frames(
        p, [(TEXT, OPEN[:-2] + b" from='\xce\xba\xe1", False), (CONT, b"\xbd\xb9@localhost'/>", True)]),
    '6.3 an overlong encoding (C0 AF)': lambda p: p.sendFrame(TEXT, b'<x>\xc0\xaf</x>'),
    '7.1 close 1000 with a reason': lambda p: p.sendFrame(CLOSE, close_payload(1000, b'bye')),
    '7.2 close with a 1-byte payload': lambda p: p.sendFrame(CLOSE, b'\x03'),
    '7.3 close code 999': lambda p: p.sendFrame(CLOSE, close_payload(999)),
    '7.4 close code 1005 (never on the wire)': lambda p: p.sendFrame(CLOSE, close_payload(1005)),
    '7.5 close code 5000': lambda p: p.sendFrame(CLOSE, close_payload(5000)),
    '7.6 close code 3000 (registered range)': lambda p: p.sendFrame(CLOSE, close_payload(3000)),
    '7.7 close reason in invalid UTF-8': lambda p: p.sendFrame(CLOSE, close_payload(1000, b'\xff\xfe')),
    '7.8 a text frame after the close': lambda p: (p.sendFrame(CLOSE, close_payload(1000)), p.sendFrame(TEXT, OPEN)),
    '9.1 a message over the size limit': lambda p: p.sendFrame(TEXT, b'x', payload_len=BIG),
    '9.2 an unmasked client frame': lambda p: (setattr(p, 'maskClientFrames', False), p.sendFrame(TEXT, OPEN)),
    '7395.1 a binary frame': lambda p: p.sendFrame(BINARY, OPEN),
    '7395.2 half an element': lambda p: p.sendFrame(TEXT, OPEN[:30]),
    '7395.3 two elements in one message': lambda p: p.sendFrame(TEXT, OPEN + OPEN),
    '10.1 after all the others, the open in one text frame': lambda p: p.sendFrame(TEXT, OPEN),
}


class Case(WebSocketClientProtocol):
    def onOpen(self):
        self.factory.result['opened'] = True
        CASES[self.factory.name](self)
        # Cases that do not end the connection themselves are ended by the client after a pause.
        asyncio.get_event_loop().call_later(2.0, self._end)

    def _end(self):
        if self.state == self.STATE_OPEN:
            self.sendClose(1000)

    def onMessage(self, payload, isBinary):
        self.factory.result['messages'].append(payload.decode('utf-8', 'replace'))

    def onPong(self, payload):
        self.factory.result['pongs'].append(payload.decode('latin-1'))

    def onCloseFrame(self, code, reasonRaw):
        # The server's close frame, before autobahn's own checks of it.
        if self.factory.result['serverClose'] is None:
            self.factory.result['serverClose'] = code
        return super().onCloseFrame(code, reasonRaw)

    def onClose(self, wasClean, code, reason):
        self.factory.done.set_result(None) if not self.factory.done.done() else None


async def run(name):
    loop = asyncio.get_event_loop()
    factory = WebSocketClientFactory(f'ws://{HOST}:{PORT}/', protocols=['xmpp'])
    factory.protocol = Case
    factory.setProtocolOptions(closeHandshakeTimeout=3, failByDrop=False)
    factory.name = name
    factory.result = {'case': name, 'opened': False, 'messages': [], 'pongs': [], 'serverClose': None}
    factory.done = loop.create_future()
    try:
        transport, _ = await loop.create_connection(factory, HOST, PORT)
        await asyncio.wait_for(factory.done, CASE_TIMEOUT)
        transport.close()
    except asyncio.TimeoutError:
        factory.result['timeout'] = True
    except OSError as e:
        factory.result['error'] = str(e)
    print(json.dumps(factory.result), flush=True)


async def main():
    for name in CASES:
        await run(name)


asyncio.run(main())
