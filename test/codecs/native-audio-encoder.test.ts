import { describe, expect, it } from 'vitest';
import { loadCodecProvider } from '../../src/codecs/load-codec-provider.js';
import { AudioData } from '../../src/media/audio-data.js';
import type { EncodedAudioChunk } from '../../src/media/encoded-chunk.js';

const RATE = 48000;

/** `seconds` of a 440 Hz stereo tone in buffers of `size` samples, timed from `startUs`. */
function* tone(seconds: number, size: number, startUs = 0): Generator<AudioData> {
  const total = seconds * RATE;
  for (let at = 0; at < total; at += size) {
    const n = Math.min(size, total - at);
    const plane = Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * (at + i)) / RATE));
    yield new AudioData({ format: 'f32-planar', sampleRate: RATE, numberOfFrames: n, numberOfChannels: 2, timestamp: startUs + Math.round((at * 1e6) / RATE), data: [plane, plane.slice()] });
  }
}

describe('the native audio encoders (frames encoded on the thread pool, in order)', () => {
  for (const [codec, frameSize] of [['opus', 960], ['mp4a.40.2', 1024]] as const) {
    it(`${codec}: every codec frame comes out once, in order, timed by the sample count, queue empty after flush`, async () => {
      const provider = await loadCodecProvider('native');
      const out: EncodedAudioChunk[] = [];
      const errors: Error[] = [];
      const enc = provider.createAudioEncoder({ output: (c) => out.push(c), error: (e) => errors.push(e) });
      enc.configure({ codec, sampleRate: RATE, numberOfChannels: 2, bitrate: 96_000 });
      // Odd buffer sizes: codec frames straddle them.
      for (const data of tone(2, 333, 1_000_000)) enc.encode(data);
      expect(enc.encodeQueueSize).toBeGreaterThan(0);
      await enc.flush();
      expect(errors).toEqual([]);
      expect(enc.encodeQueueSize).toBe(0);
      // 2 s is 96000 samples: whole codec frames, the last padded, and what the codec holds back at the end.
      expect(out.length).toBeGreaterThanOrEqual(Math.ceil((2 * RATE) / frameSize));
      const step = Math.round((frameSize * 1e6) / RATE);
      out.forEach((c, i) => {
        expect(c.duration).toBe(step);
        if (i > 0) expect(c.timestamp - out[i - 1]!.timestamp).toBeCloseTo(step, -1);
      });
      // The first real sample lands on the first input's time: the priming is before it.
      expect(out[0]!.timestamp).toBeLessThan(1_000_000);
      expect(out[0]!.timestamp).toBeGreaterThan(1_000_000 - 30_000);
      enc.close();
    });
  }

  it('closes with frames still on the pool: nothing comes out after, nothing fails, and it can be closed again', async () => {
    const provider = await loadCodecProvider('native');
    let after = 0;
    let closed = false;
    const errors: Error[] = [];
    const enc = provider.createAudioEncoder({ output: () => void (closed && after++), error: (e) => errors.push(e) });
    enc.configure({ codec: 'opus', sampleRate: RATE, numberOfChannels: 2, bitrate: 96_000 });
    for (const data of tone(1, 4800)) enc.encode(data);
    enc.close();
    closed = true;
    enc.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(after).toBe(0);
    expect(errors).toEqual([]);
    expect(enc.state).toBe('closed');
  });
});
