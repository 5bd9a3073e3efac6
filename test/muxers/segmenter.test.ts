import { describe, expect, it } from 'vitest';
import { EncodedAudioChunk, EncodedVideoChunk } from '../../src/index.js';
import type { EncodedOutput } from '../../src/media/encoded-chunk.js';
import { Segmenter } from '../../src/muxers/segmenter.js';

const v = (ms: number, key = false): EncodedOutput => ({ kind: 'video', chunk: new EncodedVideoChunk({ type: key ? 'key' : 'delta', timestamp: ms * 1000, duration: 100_000, data: new Uint8Array(1) }), metadata: {} });
const a = (ms: number): EncodedOutput => ({ kind: 'audio', chunk: new EncodedAudioChunk({ type: 'key', timestamp: ms * 1000, duration: 100_000, data: new Uint8Array(1) }), metadata: {} });
const spans = (segs: { startUs: number; endUs: number }[]): number[][] => segs.map((s) => [s.startUs / 1000, s.endUs / 1000]);

describe('Segmenter', () => {
  it('cuts on the first keyframe at or after each boundary of the grid', () => {
    const s = new Segmenter(1_000_000, { video: true, audio: false });
    const out = [];
    // Keyframes every 500 ms, target 1 s: cuts at 1000 and 2000 only.
    for (let t = 0; t < 2500; t += 100) out.push(...s.push(v(t, t % 500 === 0)));
    out.push(...s.finish());
    expect(spans(out)).toEqual([[0, 1000], [1000, 2000], [2000, 2500]]);
    expect(out.map((x) => x.items.length)).toEqual([10, 10, 5]);
    expect(out.every((x) => x.items[0]!.chunk.type === 'key')).toBe(true);
  });

  it('makes a segment longer when the keyframe comes late (copied video), never cuts on a delta frame', () => {
    const s = new Segmenter(1_000_000, { video: true, audio: false });
    const out = [];
    for (let t = 0; t < 3000; t += 100) out.push(...s.push(v(t, t === 0 || t === 1300 || t === 2100)));
    out.push(...s.finish());
    expect(spans(out)).toEqual([[0, 1300], [1300, 2100], [2100, 3000]]);
  });

  it('waits for the audio to reach a cut before closing the segment, and splits the audio there', () => {
    const s = new Segmenter(1_000_000, { video: true, audio: true });
    const out = [];
    for (let t = 0; t <= 1100; t += 100) out.push(...s.push(v(t, t % 1000 === 0)));
    // Video is past the cut at 1000; the audio lags behind.
    expect(out).toEqual([]);
    for (let t = 0; t < 1000; t += 100) out.push(...s.push(a(t)));
    expect(out).toEqual([]);
    out.push(...s.push(a(1000)));
    expect(spans(out)).toEqual([[0, 1000]]);
    expect(out[0]!.items.filter((i) => i.kind === 'audio').map((i) => i.chunk.timestamp / 1000)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
    const rest = s.finish();
    expect(rest[0]!.items.map((i) => [i.kind, i.chunk.timestamp / 1000])).toEqual([['video', 1000], ['video', 1100], ['audio', 1000]]);
  });

  it('does not wait for stalled audio longer than one segment', () => {
    const s = new Segmenter(1_000_000, { video: true, audio: true });
    const out = [];
    out.push(...s.push(a(0)));
    for (let t = 0; t < 2100; t += 100) out.push(...s.push(v(t, t % 1000 === 0)));
    expect(spans(out)).toEqual([[0, 1000]]);
  });

  it('cuts audio-only streams on any packet at the boundary', () => {
    const s = new Segmenter(1_000_000, { video: false, audio: true });
    const out = [];
    for (let t = 0; t < 2500; t += 100) out.push(...s.push(a(t)));
    out.push(...s.finish());
    expect(spans(out)).toEqual([[0, 1000], [1000, 2000], [2000, 2500]]);
  });
});
