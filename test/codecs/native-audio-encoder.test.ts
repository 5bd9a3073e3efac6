import { describe, expect, it } from 'vitest';
import type { AudioEncoderLike, CodecProvider } from '../../src/codecs/codec-provider.js';
import { loadCodecProvider } from '../../src/codecs/load-codec-provider.js';
import { AudioData } from '../../src/media/audio-data.js';
import type { AudioDecoderConfig, EncodedAudioChunk } from '../../src/media/encoded-chunk.js';

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

type Make = (provider: CodecProvider, init: Parameters<CodecProvider['createAudioEncoder']>[0]) => AudioEncoderLike;
const ENCODERS: [string, Make][] = [
  ['on the main thread', (p, init) => p.createAudioEncoder(init)],
  ['on a worker, in batches', (p, init) => p.createBatchAudioEncoder!(init)],
];

/** Every packet and the decoder config of 2 s of tone in odd-sized buffers (codec frames straddle them). */
async function encodeTone(make: Make, codec: string): Promise<{ out: EncodedAudioChunk[]; config: AudioDecoderConfig | undefined; queued: number }> {
  const provider = await loadCodecProvider('native');
  const out: EncodedAudioChunk[] = [];
  const errors: Error[] = [];
  let config: AudioDecoderConfig | undefined;
  const enc = make(provider, { output: (c, m) => ((config ??= m.decoderConfig), out.push(c)), error: (e) => errors.push(e) });
  enc.configure({ codec, sampleRate: RATE, numberOfChannels: 2, bitrate: 96_000 });
  for (const data of tone(2, 333, 1_000_000)) enc.encode(data);
  const queued = enc.encodeQueueSize;
  await enc.flush();
  expect(errors).toEqual([]);
  expect(enc.encodeQueueSize).toBe(0);
  enc.close();
  return { out, config, queued };
}

describe('the native audio encoders', () => {
  for (const [codec, frameSize] of [['opus', 960], ['mp4a.40.2', 1024]] as const) {
    for (const [where, make] of ENCODERS) {
      it(`${codec} ${where}: every codec frame once, in order, timed by the sample count`, async () => {
        const { out, config } = await encodeTone(make, codec);
        expect(config?.codec).toBe(codec);
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
      });
    }

    it(`${codec}: the batch encoder gives the main-thread encoder's packets, byte for byte, and its queue counts batches`, async () => {
      const [main, batch] = [await encodeTone(ENCODERS[0]![1], codec), await encodeTone(ENCODERS[1]![1], codec)];
      expect(main.queued).toBe(0);
      expect(batch.queued).toBeGreaterThan(0);
      expect(batch.out.map((c) => [c.timestamp, c.duration, Buffer.from(c.data).toString('base64')])).toEqual(main.out.map((c) => [c.timestamp, c.duration, Buffer.from(c.data).toString('base64')]));
      expect(Buffer.from(batch.config?.description ?? [])).toEqual(Buffer.from(main.config?.description ?? []));
    });
  }

  it('a batch encoder closed with batches on its worker: nothing comes out after, nothing fails, it can be closed again', async () => {
    const provider = await loadCodecProvider('native');
    let after = 0;
    let closed = false;
    const errors: Error[] = [];
    const enc = provider.createBatchAudioEncoder!({ output: () => void (closed && after++), error: (e) => errors.push(e) });
    enc.configure({ codec: 'opus', sampleRate: RATE, numberOfChannels: 2, bitrate: 96_000 });
    for (const data of tone(2, 4800)) enc.encode(data);
    expect(enc.encodeQueueSize).toBeGreaterThan(0);
    enc.close();
    closed = true;
    enc.close();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(after).toBe(0);
    expect(errors).toEqual([]);
    expect(enc.state).toBe('closed');
  });
});
