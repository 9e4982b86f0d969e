// Fuzzing the x-tlsim-gateway/2 control framing (bridge-protocol/wire/link-control.ts; PROTOCOL.md "Extensions"):
// ACK (0xFE) and END (0xFF) bytes mixed into message bytes anywhere, in any reads, come apart again exactly.
import fc from 'fast-check';
import { encodeMessage, LineDecoder } from '../../bridge-protocol/wire/line-codec.js';
import { ACK, ackBytes, countLf, END, END_BYTES, splitControl } from '../../bridge-protocol/wire/link-control.js';
import { chunks, cuts, fuzzTarget } from './support.js';

const anyString = fc.string({ unit: fc.oneof(fc.constantFrom('\n', '\r', 'é', '\u00fe', '\u00ff', '😀'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 30 });

/** One side's writes on a link: messages, runs of acknowledgements, and END last (acks may still follow it). */
const writes = fc
  .tuple(
    fc.array(fc.oneof(anyString.filter((m) => m.replace(/[\r\n]/g, '') !== '').map((m) => ({ message: m })), fc.integer({ min: 1, max: 5 }).map((n) => ({ acks: n }))), { maxLength: 10 }),
    fc.boolean(),
    fc.integer({ min: 0, max: 3 }),
  )
  .map(([items, end, acksAfterEnd]) => ({ items, end, acksAfterEnd }));

fuzzTarget('link-control', (t) => {
  t.property('splitControl keeps every other byte in order and counts ACKs and END exactly', [fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b))], (chunk) => {
    const { data, acks, end } = splitControl(chunk);
    const rest = chunk.filter((b) => b !== ACK && b !== END);
    return data.equals(Buffer.from(rest)) && acks === chunk.filter((b) => b === ACK).length && end === chunk.includes(END);
  }, { runs: 3000 });

  t.property('an encoded message never holds a control byte, and needs one ACK per LF', [anyString], (m) => {
    try {
      const wire = encodeMessage(m);
      return !wire.includes(ACK) && !wire.includes(END) && countLf(wire) === wire.filter((b) => b === 0x0a).length;
    } catch (err) {
      return err instanceof RangeError; // nothing to send
    }
  }, { runs: 3000 });

  t.property('a link written in any reads: same messages, same ACK count, END seen, LFs owed match', [writes, cuts()], ({ items, end, acksAfterEnd }, at) => {
    const sent = items.flatMap((i) => ('message' in i ? [encodeMessage(i.message)] : [ackBytes(i.acks)]));
    if (end) sent.push(END_BYTES, ackBytes(acksAfterEnd));
    const wire = Buffer.concat(sent);
    const decoder = new LineDecoder();
    const got: string[] = [];
    let acks = 0;
    let owed = 0;
    let sawEnd = false;
    for (const read of chunks(wire, at)) {
      const split = splitControl(read);
      acks += split.acks;
      sawEnd ||= split.end;
      owed += countLf(split.data);
      for (const m of decoder.push(split.data)) got.push(...m.text.split('\n'));
    }
    for (const m of decoder.end()) got.push(...m.text.split('\n'));
    const messages = items.flatMap((i) => ('message' in i ? [i.message] : []));
    const wantAcks = items.reduce((n, i) => n + ('acks' in i ? i.acks : 0), 0) + (end ? acksAfterEnd : 0);
    const wantLines = messages.flatMap((m) => encodeMessage(m).toString('utf8').slice(0, -1).split('\n'));
    const wantLf = messages.reduce((n, m) => n + countLf(encodeMessage(m)), 0);
    const nonEmpty = (l: string[]) => l.filter((s) => s !== '');
    return (
      acks === wantAcks &&
      sawEnd === end &&
      owed === wantLf &&
      JSON.stringify(nonEmpty(got)) === JSON.stringify(nonEmpty(wantLines).map((l) => l.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '\ufffd')))
    );
  }, { runs: 1500 });

  t.property('ackBytes(n) is n ACKs', [fc.integer({ min: 0, max: 300 })], (n) => {
    const b = ackBytes(n);
    return b.length === n && splitControl(b).acks === n && splitControl(b).data.length === 0;
  }, { runs: 300, weight: 0.1 });
});
