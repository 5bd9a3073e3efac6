import { describe, expect, it } from 'vitest';
import { DriftCorrector } from '../../src/convert/drift-corrector.js';
import { AudioData } from '../../src/media/audio-data.js';

const RATE = 48000;

/**
 * A publisher's audio whose sound card runs `ppm` fast: each 960-sample packet is stamped with the
 * real time of its first sample (what lip sync gives from the sender's reports), and its samples are
 * `signal` of real time, sampled at the fast rate.
 */
function* drifting(seconds: number, ppm: number, signal: (t: number) => number, holeAt?: number): Generator<AudioData> {
  const hz = RATE * (1 + ppm * 1e-6);
  for (let k = 0; k * 960 < seconds * hz; k++) {
    const t0 = (k * 960) / hz;
    // A hole of 0.5 s (a mute): the packets after it are stamped 0.5 s later.
    const shift = holeAt !== undefined && t0 >= holeAt ? 0.5 : 0;
    const plane = new Float32Array(960);
    for (let i = 0; i < 960; i++) plane[i] = signal(t0 + shift + i / hz);
    yield new AudioData({ format: 'f32-planar', sampleRate: RATE, numberOfFrames: 960, numberOfChannels: 2, timestamp: Math.round((t0 + shift) * 1e6), data: [plane, plane] });
  }
}

function correct(input: Iterable<AudioData>): { out: AudioData[]; corrector: DriftCorrector } {
  const corrector = new DriftCorrector();
  const out: AudioData[] = [];
  for (const d of input) out.push(...corrector.process(d));
  const tail = corrector.flush();
  if (tail !== null) out.push(tail);
  return { out, corrector };
}

/** The output's samples of channel `c` on its own timeline (gaps as silence), from time 0. */
function samples(out: AudioData[], c = 0): Float32Array {
  const last = out[out.length - 1]!;
  const all = new Float32Array(Math.round((last.timestamp * RATE) / 1e6) + last.numberOfFrames);
  for (const d of out) all.set(d.planes()[c]!.subarray(0, d.numberOfFrames), Math.round((d.timestamp * RATE) / 1e6));
  return all;
}

/** 1 kHz for the first 100 ms of every real second. */
const beeps = (t: number): number => ((t % 1) < 0.1 ? 0.5 * Math.sin(2 * Math.PI * 1000 * t) : 0);

/** Onsets (s): the first loud sample after 0.5 s of quiet. */
function onsets(x: Float32Array): number[] {
  const found: number[] = [];
  let quiet = RATE;
  for (let i = 0; i < x.length; i++) {
    if (Math.abs(x[i]!) > 0.05) {
      if (quiet >= RATE / 2) found.push(i / RATE);
      quiet = 0;
    } else quiet++;
  }
  return found;
}

describe('DriftCorrector', () => {
  it('resamples 5 minutes of audio 300 ppm fast onto its timestamps: every beep in place within 1 ms (90 ms late without)', () => {
    const input = [...drifting(300, 300, (t) => (t < 299.5 ? beeps(t) : 0))];
    // What counting the samples at 48 kHz would do: the last beep 90 ms late.
    const counted = onsets(samples(input.map((d, k) => new AudioData({ ...d, format: 'f32-planar', timestamp: Math.round((k * 960 * 1e6) / RATE), data: d.planes() }))));
    expect(counted[counted.length - 1]! - 299).toBeCloseTo(0.09, 2);
    const { out, corrector } = correct(input);
    const found = onsets(samples(out));
    expect(found.length).toBe(300);
    expect(Math.max(...found.map((t, i) => Math.abs(t - i)))).toBeLessThan(0.001);
    // It ends where the timestamps say the input ends, not 90 ms later as its samples, within a millisecond.
    const last = out[out.length - 1]!;
    const inputEnd = input[input.length - 1]!.timestamp + (960 / (RATE * 1.0003)) * 1e6;
    expect(Math.abs(last.timestamp + last.duration - inputEnd)).toBeLessThan(1000);
    const stats = corrector.toJSON();
    expect(stats.measuredPpm!).toBeCloseTo(300, 0);
    expect(stats.correctedUs).toBeGreaterThan(89_000);
    expect(stats.correctedUs).toBeLessThan(91_000);
    expect(stats.maxOffsetUs).toBeLessThan(1000);
    expect(stats.gaps).toBe(0);
  });

  it('keeps a tone clean while it resamples (1000 ppm slow clock): what is left after fitting the 1 kHz sine is below -60 dB', () => {
    const { out, corrector } = correct(drifting(30, -1000, (t) => 0.5 * Math.sin(2 * Math.PI * 1000 * t)));
    expect(corrector.toJSON().measuredPpm!).toBeCloseTo(-1000, 0);
    const x = samples(out);
    // 0.1 s at 20 s: a least-squares fit of a sin + b cos at 1 kHz (the tone in real time).
    const from = 20 * RATE;
    const n = RATE / 10;
    let ss = 0, sc = 0, cc = 0, xs = 0, xc = 0;
    for (let i = from; i < from + n; i++) {
      const s = Math.sin((2 * Math.PI * 1000 * i) / RATE);
      const c = Math.cos((2 * Math.PI * 1000 * i) / RATE);
      ss += s * s; sc += s * c; cc += c * c; xs += x[i]! * s; xc += x[i]! * c;
    }
    const det = ss * cc - sc * sc;
    const a = (xs * cc - xc * sc) / det;
    const b = (xc * ss - xs * sc) / det;
    let residual = 0;
    let power = 0;
    for (let i = from; i < from + n; i++) {
      const fit = a * Math.sin((2 * Math.PI * 1000 * i) / RATE) + b * Math.cos((2 * Math.PI * 1000 * i) / RATE);
      residual += (x[i]! - fit) ** 2;
      power += fit ** 2;
    }
    expect(Math.hypot(a, b)).toBeCloseTo(0.5, 2);
    expect(10 * Math.log10(residual / power)).toBeLessThan(-60);
  });

  it('hands audio without drift through unchanged, and starts again after a gap (the output jumps with it)', () => {
    const input = [...drifting(3, 0, (t) => Math.sin(2 * Math.PI * 440 * t), 1.5)];
    const copy = input.map((d) => Float32Array.from(d.planes()[0]!));
    const { out, corrector } = correct(input);
    expect(corrector.toJSON()).toMatchObject({ gaps: 1, ratioPpm: 0, correctedUs: 0 });
    const gapAt = out.findIndex((d, i) => i > 0 && d.timestamp - (out[i - 1]!.timestamp + out[i - 1]!.duration) > 400_000);
    expect(gapAt).toBeGreaterThan(0);
    // Every sample before the gap is the input's (the filter at whole positions is the identity).
    const before = out.slice(0, gapAt).flatMap((d) => [...d.planes()[0]!]);
    const inBefore = copy.flat().length === 0 ? [] : copy.flatMap((p) => [...p]).slice(0, before.length);
    expect(before.length).toBeGreaterThan(1.4 * RATE);
    expect(Math.max(...before.slice(0, before.length - 16).map((v, i) => Math.abs(v - inBefore[i]!)))).toBeLessThan(1e-6);
    expect(out[gapAt]!.timestamp / 1e6).toBeCloseTo(2, 2);
  });
});
