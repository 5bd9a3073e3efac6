import { describe, expect, it } from 'vitest';
import { AudioData } from '../../src/index.js';
import { mapChannels, SincResampler } from '../../src/convert/sinc-resampler.js';

/** `seconds` of a sine at `hz`, amplitude 0.5, in buffers of `block` samples, through the resampler. */
function run(from: number, to: number, hz: number, seconds = 1, block = 1024): { out: AudioData[]; samples: Float32Array } {
  const r = new SincResampler(to, 1);
  const out: AudioData[] = [];
  const total = Math.round(from * seconds);
  for (let at = 0; at < total; at += block) {
    const n = Math.min(block, total - at);
    const x = Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * (at + i)) / from));
    const o = r.process(new AudioData({ format: 'f32-planar', sampleRate: from, numberOfFrames: n, numberOfChannels: 1, timestamp: Math.round((at * 1e6) / from), data: [x] }));
    if (o !== null) out.push(o);
  }
  const tail = r.flush();
  if (tail !== null) out.push(tail);
  const samples = new Float32Array(out.reduce((n, a) => n + a.numberOfFrames, 0));
  let at = 0;
  for (const a of out) {
    samples.set(a.planes()[0]!, at);
    at += a.numberOfFrames;
  }
  return { out, samples };
}

const rms = (x: Float32Array, from = 0, to = x.length): number => Math.sqrt(x.subarray(from, to).reduce((s, v) => s + v * v, 0) / (to - from));

describe('the TypeScript resampler', () => {
  it('44.1 kHz to 48 kHz: exactly as many samples as the time, the tone at its pitch and level, gapless timestamps', () => {
    const { out, samples } = run(44100, 48000, 1000);
    expect(samples.length).toBe(48000);
    // Away from the edges (where the input starts and stops), the level is the input's.
    expect(Math.abs(rms(samples, 1000, 47000) - 0.5 / Math.SQRT2)).toBeLessThan(0.002);
    let crossings = 0;
    for (let i = 1001; i < 47000; i++) if (samples[i - 1]! < 0 && samples[i]! >= 0) crossings++;
    expect(Math.abs(crossings - 46000 / 48)).toBeLessThanOrEqual(1);
    // Against the ideal 1 kHz sine at 48 kHz, sample by sample.
    let err = 0;
    for (let i = 1000; i < 47000; i++) err = Math.max(err, Math.abs(samples[i]! - 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 48000)));
    expect(err).toBeLessThan(1e-3);
    let next = 0;
    for (const a of out) {
      expect(Math.abs(a.timestamp - Math.round((next * 1e6) / 48000))).toBeLessThanOrEqual(1);
      next += a.numberOfFrames;
    }
  });

  it('band-limits when it shrinks: a 12 kHz tone going to 16 kHz is gone (over 60 dB down), a 1 kHz tone stays', () => {
    const high = run(48000, 16000, 12000).samples;
    const low = run(48000, 16000, 1000).samples;
    expect(high.length).toBe(16000);
    expect(20 * Math.log10(rms(high, 500, 15500) / (0.5 / Math.SQRT2))).toBeLessThan(-60);
    expect(Math.abs(rms(low, 500, 15500) - 0.5 / Math.SQRT2)).toBeLessThan(0.002);
  });

  it('maps channels as swresample does: mono to both sides, stereo to mono as the mean, 5.1 to stereo with the centre and surrounds at -3 dB', () => {
    const p = (v: number): Float32Array => Float32Array.of(v, v);
    expect(mapChannels([p(0.5)], 2, 2).map((x) => Array.from(x))).toEqual([[0.5, 0.5], [0.5, 0.5]]);
    expect(Array.from(mapChannels([p(0.5), p(0.25)], 2, 1)[0]!)).toEqual([0.375, 0.375]);
    const [l, r] = mapChannels([p(0.1), p(0.2), p(0.3), p(1), p(0.4), p(0.5)], 2, 2);
    expect(l![0]).toBeCloseTo(0.1 + 0.7071 * 0.3 + 0.7071 * 0.4, 5);
    expect(r![0]).toBeCloseTo(0.2 + 0.7071 * 0.3 + 0.7071 * 0.5, 5);
  });

  it('hands audio that already fits through as it is', () => {
    const r = new SincResampler(48000, 2);
    const a = new AudioData({ format: 'f32-planar', sampleRate: 48000, numberOfFrames: 4, numberOfChannels: 2, timestamp: 0, data: [new Float32Array(4), new Float32Array(4)] });
    expect(r.process(a)).toBe(a);
    expect(r.flush()).toBeNull();
  });
});
