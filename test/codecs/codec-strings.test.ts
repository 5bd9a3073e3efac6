import { describe, expect, it } from 'vitest';
import { avcCodecStringFromAnnexB, h264Level, h264ProfileOf, videoCodecString } from '../../src/codecs/codec-strings.js';

describe('codec strings', () => {
  it('builds WebCodecs strings with the smallest fitting level', () => {
    expect(videoCodecString('h264', 'baseline', 640, 360, 30)).toBe('avc1.42001e');
    expect(videoCodecString('h264', 'main', 1280, 720, 30)).toBe('avc1.4d001f');
    expect(videoCodecString('h264', 'high', 1920, 1080, 60)).toBe('avc1.64002a');
    expect(h264Level(3840, 2160, 30)).toBe(51);
  });

  it('reads the profile asked for from a codec string', () => {
    expect(h264ProfileOf('avc1.42001f')).toBe('baseline');
    expect(h264ProfileOf('avc1.640028')).toBe('high');
    expect(h264ProfileOf('vp8')).toBeUndefined();
  });

  it('reads the real codec string from the SPS of an Annex B access unit', () => {
    const au = new Uint8Array([0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x67, 0x4d, 0x40, 0x1f, 0xac, 0, 0, 1, 0x68, 0xee]);
    expect(avcCodecStringFromAnnexB(au)).toBe('avc1.4d401f');
    expect(avcCodecStringFromAnnexB(new Uint8Array([0, 0, 1, 0x65, 1, 2]))).toBeUndefined();
  });
});
