import { describe, expect, it } from 'vitest';
import { isAnnexB, parseSps } from '../../src/sources/annexb-reader.js';
import { isIvf, isVpxKeyframe, parseIvfHeader } from '../../src/sources/ivf-reader.js';

describe('Annex B reader', () => {
  it('parses the size, profile and level out of an SPS (with cropping)', () => {
    // x264's SPS for 320x180 baseline: 20x12 macroblocks, cropped by 12 lines at the bottom.
    const sps = Uint8Array.from([0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0x9f, 0x9f, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x42, 0xa4, 0x80]);
    expect(parseSps(sps)).toEqual({ profileIdc: 0x42, constraints: 0xc0, levelIdc: 0x0d, width: 320, height: 180 });
  });

  it('recognises a stream by its first start code and NAL', () => {
    expect(isAnnexB(Uint8Array.from([0, 0, 0, 1, 0x67, 0x42, 0, 0]))).toBe(true);
    expect(isAnnexB(Uint8Array.from([0, 0, 1, 0x09, 0xf0, 0, 0, 0]))).toBe(true);
    expect(isAnnexB(Uint8Array.from([0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70]))).toBe(false);
  });
});

describe('IVF reader', () => {
  it('parses the header and tells VP8 and VP9 keyframes', () => {
    const h = new Uint8Array(32);
    h.set([0x44, 0x4b, 0x49, 0x46, 0, 0, 32, 0, 0x56, 0x50, 0x38, 0x30, 0x40, 0x01, 0xf0, 0x00, 30, 0, 0, 0, 1, 0, 0, 0]);
    expect(isIvf(h)).toBe(true);
    expect(parseIvfHeader(h)).toEqual({ fourcc: 'VP80', width: 320, height: 240, timebaseDen: 30, timebaseNum: 1 });
    expect(isVpxKeyframe('VP80', Uint8Array.from([0x10]))).toBe(true);
    expect(isVpxKeyframe('VP80', Uint8Array.from([0x11]))).toBe(false);
    expect(isVpxKeyframe('VP90', Uint8Array.from([0x82]))).toBe(true);
    expect(isVpxKeyframe('VP90', Uint8Array.from([0x86]))).toBe(false);
    expect(() => parseIvfHeader(new Uint8Array(32))).toThrow('not an IVF file');
  });
});
