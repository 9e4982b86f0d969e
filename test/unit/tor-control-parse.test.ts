// Tor control codec: reply framing, data blocks, events, quoting, bootstrap and HS_DESC parsing (control-spec §2, §4; research/tor.md §2).
import { describe, expect, it } from 'vitest';
import {
  ReplyParser,
  TorError,
  checkArg,
  parseArgs,
  parseBootstrap,
  parseConfLines,
  parseHsDesc,
  parseKeyValueLines,
  quote,
  toEvent,
  unescapeCString,
} from '../../bridge-protocol/tor/control-parse.js';

const feed = (p: ReplyParser, text: string) => p.push(Buffer.from(text));

describe('ReplyParser', () => {
  it('ends a reply at the first "NNN " line, whatever came before', () => {
    const replies = feed(new ReplyParser(), '250-PROTOCOLINFO 1\r\n250-AUTH METHODS=NULL\r\n250 OK\r\n');
    expect(replies).toHaveLength(1);
    expect(replies[0]!.code).toBe(250);
    expect(replies[0]!.lines.map((l) => [l.sep, l.text])).toEqual([
      ['-', 'PROTOCOLINFO 1'],
      ['-', 'AUTH METHODS=NULL'],
      [' ', 'OK'],
    ]);
  });

  it('waits for whole lines across chunks, byte by byte, and accepts bare LF', () => {
    const p = new ReplyParser();
    const text = '250-a=1\n250 OK\r\n552 Unrecognized key "x"\r\n';
    const out = [...text].flatMap((c) => feed(p, c));
    expect(out.map((r) => r.code)).toEqual([250, 552]);
    expect(out[1]!.lines[0]!.text).toBe('Unrecognized key "x"');
  });

  it('collects a data block, dot-unstuffed, up to the lone dot', () => {
    const [r] = feed(new ReplyParser(), '250+config-text=\r\nA 1\r\n..hidden\r\n...\r\n\r\n.\r\n250 OK\r\n');
    expect(r!.lines[0]).toEqual({ code: 250, sep: '+', text: 'config-text=', data: 'A 1\n.hidden\n..\n' });
    expect(parseKeyValueLines(r!).get('config-text')).toBe('A 1\n.hidden\n..\n');
  });

  it('gives an event arriving between two replies as a reply of its own, in order', () => {
    const out = feed(new ReplyParser(), '250 OK\r\n650-CONF_CHANGED\r\n650-DisableNetwork=1\r\n650 OK\r\n250-x=1\r\n250 OK\r\n');
    expect(out.map((r) => r.code)).toEqual([250, 650, 250]);
    const ev = toEvent(out[1]!);
    expect(ev.type).toBe('CONF_CHANGED');
    expect(ev.lines[1]!.text).toBe('DisableNetwork=1');
    expect(toEvent(feed(new ReplyParser(), '650 HS_DESC UPLOADED abc UNKNOWN $F~n\r\n')[0]!).body).toBe('UPLOADED abc UNKNOWN $F~n');
  });

  it('refuses a line over the limit even before its end arrives', () => {
    const p = new ReplyParser(16);
    expect(() => feed(p, '250-' + 'x'.repeat(40))).toThrow(TorError);
    expect(() => feed(new ReplyParser(16), '250 ' + 'x'.repeat(20) + '\r\n')).toThrow(/over 16 bytes/);
  });

  it('refuses a reply over the reply limit (an endless data block) and malformed lines', () => {
    const p = new ReplyParser(100, 200);
    expect(() => feed(p, '250+k=\r\n' + 'line\r\n'.repeat(60))).toThrow(/reply over 200/);
    expect(() => feed(new ReplyParser(), 'hello\r\n')).toThrow(/malformed/);
  });
});

describe('arguments and quoting', () => {
  it('quotes with backslash escapes and refuses line breaks (no command injection)', () => {
    expect(quote('pa"ss\\word')).toBe('"pa\\"ss\\\\word"');
    expect(() => quote('a\r\nSIGNAL HALT')).toThrow(RangeError);
    expect(() => checkArg('GETINFO x\nQUIT')).toThrow(RangeError);
  });

  it('unescapes CStrings (COOKIEFILE, SUMMARY)', () => {
    expect(unescapeCString('C:\\\\tor\\\\cookie')).toBe('C:\\tor\\cookie');
    expect(unescapeCString('a\\"b\\n\\t\\101')).toBe('a"b\n\tA');
  });

  it('splits positional tokens and KEY=value / KEY="quoted" pairs, keeping unknown keys', () => {
    expect(parseArgs('NOTICE BOOTSTRAP PROGRESS=5 TAG=conn SUMMARY="Connecting to a relay" NEWKEY="x \\"y\\""  ')).toEqual({
      positional: ['NOTICE', 'BOOTSTRAP'],
      kv: { PROGRESS: '5', TAG: 'conn', SUMMARY: 'Connecting to a relay', NEWKEY: 'x "y"' },
    });
    expect(parseArgs('"127.0.0.1:26391" "127.0.0.1:26491"').positional).toEqual(['127.0.0.1:26391', '127.0.0.1:26491']);
    expect(parseArgs('METHODS=COOKIE,SAFECOOKIE COOKIEFILE="/var/x y/control_auth_cookie"').kv.COOKIEFILE).toBe('/var/x y/control_auth_cookie');
    expect(parseArgs('').positional).toEqual([]);
  });
});

describe('bootstrap status', () => {
  it('parses the GETINFO form and the event form', () => {
    expect(parseBootstrap('NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"')).toEqual({
      severity: 'NOTICE',
      progress: 100,
      tag: 'done',
      summary: 'Done',
    });
    expect(parseBootstrap('NOTICE BOOTSTRAP PROGRESS=0 TAG=starting SUMMARY="Starting"')?.progress).toBe(0);
  });

  it("keeps tor's own warning, reason, count and recommendation", () => {
    const b = parseBootstrap(
      'WARN BOOTSTRAP PROGRESS=5 TAG=conn SUMMARY="Connecting to a relay" WARNING="Connection refused" REASON=CONNECTREFUSED COUNT=10 RECOMMENDATION=warn HOSTID="ABC" HOSTADDR="127.0.0.1:5000"',
    );
    expect(b).toMatchObject({ severity: 'WARN', progress: 5, warning: 'Connection refused', reason: 'CONNECTREFUSED', count: 10, recommendation: 'warn' });
  });

  it('is not fooled by other STATUS_CLIENT events', () => {
    expect(parseBootstrap('NOTICE CIRCUIT_ESTABLISHED')).toBeUndefined();
    expect(parseBootstrap('NOTICE ENOUGH_DIR_INFO')).toBeUndefined();
  });
});

describe('HS_DESC', () => {
  it('reads positionally, AuthType UNKNOWN as tor 0.4.9 prints it', () => {
    const id = 'pprjqskmqyzwxws5y5lyb6odqtqr6vzsbtkpsvdtwzf4qyrc4vyzydqd';
    expect(parseHsDesc(`UPLOADED ${id} UNKNOWN $AAAA~relay1`)).toMatchObject({ action: 'UPLOADED', address: id, authType: 'UNKNOWN', hsDir: '$AAAA~relay1' });
    expect(parseHsDesc(`UPLOAD ${id} UNKNOWN $AAAA~r descid HSDIR_INDEX=ff`)).toMatchObject({ descriptorId: 'descid', kv: { HSDIR_INDEX: 'ff' } });
    expect(parseHsDesc(`FAILED ${id} UNKNOWN $AAAA~r REASON=UPLOAD_REJECTED`)?.reason).toBe('UPLOAD_REJECTED');
    expect(parseHsDesc('')).toBeUndefined();
  });
});

describe('GETCONF lines', () => {
  it('reads repeated keys, a value on the final line, and unset options', () => {
    const r = feed(new ReplyParser(), '250-SocksPort=127.0.0.1:1\r\n250-SocksPort=127.0.0.1:2 ExtendedErrors\r\n250-ControlSocket\r\n250 DisableNetwork=0\r\n')[0]!;
    const conf = parseConfLines(r);
    expect(conf.get('SocksPort')).toEqual(['127.0.0.1:1', '127.0.0.1:2 ExtendedErrors']);
    expect(conf.get('ControlSocket')).toEqual([]);
    expect(conf.get('DisableNetwork')).toEqual(['0']);
  });
});
