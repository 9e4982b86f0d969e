// The numbers and base64 of stream initiation and in-band bytestreams (gateway/features/support/si-ibb.ts): what a
// client writes is read as the XEPs define it, nothing Number() or Buffer.from would also take (found by the
// si-ibb fuzz target, test/fuzz/si-ibb.fuzz.test.ts).
import { describe, expect, it } from 'vitest';
import { ibbBlock, wholeNumber } from '../../gateway/features/support/si-ibb.js';

describe('si-ibb numbers', () => {
  it('reads a size, block-size or seq written in digits', () => {
    expect(wholeNumber('0')).toBe(0);
    expect(wholeNumber('4096')).toBe(4096);
    expect(wholeNumber('007')).toBe(7);
    expect(wholeNumber('999999999999999')).toBe(999_999_999_999_999);
  });

  it('refuses "1e2", "0x10", "", " 1", "1.0", "-0" and other spellings Number() takes (they gave a size of 100, a seq of 0, ...)', () => {
    for (const t of [undefined, '', ' ', ' 1', '1 ', '1e2', '0x10', '0b1', '1.0', '-0', '+1', 'Infinity', '١', '9999999999999999']) expect(wholeNumber(t), String(t)).toBeUndefined();
  });
});

describe('si-ibb blocks', () => {
  it('reads padded base64, with the line breaks XEP-0047 shows in its own example', () => {
    expect(ibbBlock('aGVsbG8=')).toEqual(Buffer.from('hello'));
    expect(ibbBlock('aGVs\r\n bG8=\n')).toEqual(Buffer.from('hello'));
    expect(ibbBlock('')).toEqual(Buffer.alloc(0));
  });

  it('refuses base64 that Buffer.from reads as other bytes: no padding, bits after the end, base64url, a lone character, junk', () => {
    for (const t of ['aGVsbG8', 'aGVsbG9=', 'A', 'AB==', '-_8=', '_w==', 'aGVs*bG8=', 'aGVsbG8==', '====']) expect(ibbBlock(t), t).toBeUndefined();
  });
});
