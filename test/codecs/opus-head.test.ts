import { describe, expect, it } from 'vitest';
import { opusHead, opusHeadProblem } from '../../src/codecs/opus-head.js';

describe('opusHeadProblem: a damaged OpusHead is named, never copied into a file', () => {
  it('passes a sound header and names each kind of damage', () => {
    expect(opusHeadProblem(opusHead(2))).toBeUndefined();
    const h = opusHead(2);
    expect(opusHeadProblem(h.subarray(0, 18))).toBe('no OpusHead magic');
    expect(opusHeadProblem(Uint8Array.from([...h.subarray(0, 8), 0x10, ...h.subarray(9)]))).toBe('unknown version 16');
    const fifteen = Uint8Array.from(h);
    fifteen[9] = 15;
    expect(opusHeadProblem(fifteen)).toBe('15 channels with mapping family 0 (at most 2)');
    const zero = Uint8Array.from(h);
    zero[9] = 0;
    expect(opusHeadProblem(zero)).toBe('zero channels');
    const family1 = Uint8Array.from(h);
    family1[18] = 1;
    expect(opusHeadProblem(family1)).toBe('mapping family 1 without its channel mapping table');
    expect(opusHeadProblem(Uint8Array.from([...family1, 1, 1, 0, 1]))).toBeUndefined();
  });
});
