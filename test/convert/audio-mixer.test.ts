import { describe, expect, it } from 'vitest';
import { AudioData } from '../../src/index.js';
import { AudioMixer } from '../../src/convert/audio-mixer.js';

const RATE = 1000; // 20-sample blocks keep the numbers small.
const buf = (ts: number, l: number[], r: number[] = l): AudioData =>
  new AudioData({ format: 'f32-planar', sampleRate: RATE, numberOfFrames: l.length, numberOfChannels: 2, timestamp: ts, data: [Float32Array.from(l), Float32Array.from(r)] });
const ones = (n: number, v = 1): number[] => Array.from({ length: n }, () => v);

describe('AudioMixer', () => {
  it('sums inputs, clamps to [-1, 1] and counts the clipped samples', () => {
    const m = new AudioMixer(RATE, 2, ['both', 'both']);
    m.push(0, buf(0, ones(20, 0.75)));
    m.push(1, buf(0, ones(20, 0.5), ones(20, -0.5)));
    const [block] = m.pull();
    expect(Array.from(block!.planes()[0]!)).toEqual(ones(20, 1));
    expect(Array.from(block!.planes()[1]!)).toEqual(ones(20, 0.25));
    expect(m.counters.clipped).toBe(20);
  });

  it('waits for every input before mixing a block, and an ended input no longer holds it', () => {
    const m = new AudioMixer(RATE, 2, ['both', 'both']);
    m.push(0, buf(0, ones(40, 0.1)));
    expect(m.pull()).toEqual([]);
    m.end(1);
    expect(m.pull().map((b) => b.timestamp)).toEqual([0, 20_000]);
    m.end(0);
    expect(m.done).toBe(true);
  });

  it('places a late input on the timeline: silence before it, its samples at its time', () => {
    const m = new AudioMixer(RATE, 2, ['both']);
    m.push(0, buf(30_000, ones(10, 0.5)));
    m.end(0);
    const blocks = m.pull();
    expect(blocks.map((b) => b.timestamp)).toEqual([0, 20_000]);
    expect(Array.from(blocks[1]!.planes()[0]!)).toEqual([...ones(10, 0), ...ones(10, 0.5)]);
  });

  it('routes a track to one side, folded to mono', () => {
    const m = new AudioMixer(RATE, 2, ['left', 'right']);
    m.push(0, buf(0, ones(20, 0.2), ones(20, 0.4)));
    m.push(1, buf(0, ones(20, 0.6)));
    const [block] = m.pull();
    expect(block!.planes()[0]![0]).toBeCloseTo(0.3, 6);
    expect(block!.planes()[1]![0]).toBeCloseTo(0.6, 6);
  });

  it('pads with silence to a given session end', () => {
    const m = new AudioMixer(RATE, 2, ['both']);
    m.extendTo(100_000, true);
    m.push(0, buf(0, ones(20, 0.5)));
    m.end(0);
    expect(m.pull()).toHaveLength(5);
    expect(m.done).toBe(true);
  });

  it('goes on in silence only as far as the end is moved, and is done only when the end is final', () => {
    const m = new AudioMixer(RATE, 2, ['both']);
    m.push(0, buf(0, ones(20, 0.5)));
    m.end(0);
    expect(m.inputsEnded).toBe(true);
    m.extendTo(60_000, false);
    expect(m.pull()).toHaveLength(3);
    expect(m.pull()).toHaveLength(0);
    expect(m.done).toBe(false);
    m.extendTo(100_000, true);
    const rest = m.pull();
    expect(rest.map((b) => b.timestamp)).toEqual([60_000, 80_000]);
    expect(m.done).toBe(true);
  });
});
