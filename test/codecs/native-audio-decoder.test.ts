import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { loadCodecProvider } from '../../src/codecs/load-codec-provider.js';
import { AudioData } from '../../src/media/audio-data.js';
import { EncodedChunk, type AudioDecoderConfig, type EncodedAudioChunk } from '../../src/media/encoded-chunk.js';
import { fixture } from '../helpers/fixtures.js';

const RATE = 48000;
const GAP_US = 200_000;

/** 2 s of a stereo tone (left and right apart) encoded as AAC; packets from 1 s on moved 200 ms later (a gap). */
async function aacWithGap(): Promise<{ packets: EncodedAudioChunk[]; config: AudioDecoderConfig }> {
  const provider = await loadCodecProvider('native');
  const packets: EncodedAudioChunk[] = [];
  let config: AudioDecoderConfig | undefined;
  const enc = provider.createAudioEncoder({ output: (c, m) => ((config ??= m.decoderConfig), packets.push(c)), error: (e) => { throw e; } });
  enc.configure({ codec: 'mp4a.40.2', sampleRate: RATE, numberOfChannels: 2, bitrate: 128_000 });
  for (let at = 0; at < 2 * RATE; at += 960) {
    const left = Float32Array.from({ length: 960 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * (at + i)) / RATE));
    const right = Float32Array.from({ length: 960 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 660 * (at + i)) / RATE));
    enc.encode(new AudioData({ format: 'f32-planar', sampleRate: RATE, numberOfFrames: 960, numberOfChannels: 2, timestamp: Math.round((at * 1e6) / RATE), data: [left, right] }));
  }
  await enc.flush();
  enc.close();
  const moved = packets.map((p) => (p.timestamp < 1_000_000 ? p : { ...p, timestamp: p.timestamp + GAP_US }) as EncodedAudioChunk);
  return { packets: moved, config: config! };
}

/** An ADTS stream's frames (each carries its own rate and channels in its header), from `startUs` on at `rate`. */
function adtsFrames(bytes: Uint8Array, rate: number, startUs: number): EncodedAudioChunk[] {
  const frames: EncodedAudioChunk[] = [];
  for (let at = 0, k = 0; at + 7 <= bytes.length; k++) {
    expect(bytes[at] === 0xff && (bytes[at + 1]! & 0xf0) === 0xf0).toBe(true);
    const length = ((bytes[at + 3]! & 3) << 11) | (bytes[at + 4]! << 3) | (bytes[at + 5]! >> 5);
    frames.push(new EncodedChunk({ type: 'key', timestamp: startUs + Math.round((k * 1024 * 1e6) / rate), duration: Math.round((1024 * 1e6) / rate), data: bytes.subarray(at, at + length) }) as EncodedAudioChunk);
    at += length;
  }
  return frames;
}

interface Decoded { timestamp: number; n: number; rate: number; planes: Float32Array[] }

async function decode(packets: readonly EncodedAudioChunk[], config: AudioDecoderConfig, batchSamples?: number): Promise<Decoded[]> {
  const provider = await loadCodecProvider('native');
  const out: Decoded[] = [];
  const dec = provider.createAudioDecoder!({
    output: (d) => {
      out.push({ timestamp: d.timestamp, n: d.numberOfFrames, rate: d.sampleRate, planes: d.planes().map((p) => p.slice(0, d.numberOfFrames)) });
      d.close();
    },
    error: (e) => { throw e; },
    ...(batchSamples === undefined ? {} : { batchSamples }),
  });
  dec.configure(config);
  for (const p of packets) dec.decode(p);
  await dec.flush();
  dec.close();
  return out;
}

const joined = (blocks: { planes: Float32Array[] }[], c: number): Float32Array => {
  const parts = blocks.map((b) => b.planes[c]!);
  const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) all.set(p, (at += p.length) - p.length);
  return all;
};

describe('the native audio decoder', () => {
  it('with batchSamples: the same samples in blocks of that many, timed as the frames they start with, cut at a gap and at the end', async () => {
    const { packets, config } = await aacWithGap();
    const frames = await decode(packets, config);
    const blocks = await decode(packets, config, 4800);
    expect(frames.every((f) => f.n === 1024)).toBe(true);
    // Every sample, in order, on both channels.
    for (const c of [0, 1]) expect(Buffer.from(joined(blocks, c).buffer).equals(Buffer.from(joined(frames, c).buffer))).toBe(true);
    // Each block starts where a frame started, at that frame's time.
    const frameAt = new Map<number, number>();
    let sample = 0;
    for (const f of frames) {
      frameAt.set(sample, f.timestamp);
      sample += f.n;
    }
    sample = 0;
    for (const b of blocks) {
      expect(b.timestamp).toBe(frameAt.get(sample));
      sample += b.n;
    }
    // No block spans the gap: the frame after it starts a block, the one before ends one short.
    const afterGap = frames.findIndex((f, i) => i > 0 && f.timestamp - frames[i - 1]!.timestamp > 100_000);
    expect(afterGap).toBeGreaterThan(0);
    const gapBlock = blocks.findIndex((b) => b.timestamp === frames[afterGap]!.timestamp);
    expect(gapBlock).toBeGreaterThan(0);
    // Full blocks elsewhere (a block takes whole frames: 4 of 1024 fit in 4800), the last one short.
    const full = blocks.filter((_, i) => i !== gapBlock - 1 && i !== blocks.length - 1);
    expect(full.every((b) => b.n === 4096)).toBe(true);
    expect(blocks.length).toBeLessThan(frames.length / 3);
  });

  it('with batchSamples: converted sample formats (16-bit PCM) land in the block where they belong', async () => {
    // 1 s of stereo 16-bit PCM in packets of 1000 samples, left counting up, right down; a 100 ms gap at 0.5 s.
    const packets: EncodedAudioChunk[] = [];
    for (let at = 0; at < RATE; at += 1000) {
      const pcm = new Int16Array(2000);
      for (let i = 0; i < 1000; i++) {
        pcm[2 * i] = (at + i) % 32768;
        pcm[2 * i + 1] = -((at + i) % 32768);
      }
      const timestamp = Math.round(((at + (at >= RATE / 2 ? RATE / 10 : 0)) * 1e6) / RATE);
      packets.push(new EncodedChunk({ type: 'key', timestamp, duration: Math.round((1000 * 1e6) / RATE), data: new Uint8Array(pcm.buffer) }) as EncodedAudioChunk);
    }
    const config: AudioDecoderConfig = { codec: 'pcm-s16', sampleRate: RATE, numberOfChannels: 2 };
    const blocks = await decode(packets, config, 4800);
    // Whole packets per block (four of 1000 fit in 4800), six before the gap and six after.
    expect(blocks.map((b) => b.n)).toEqual(Array.from({ length: 12 }, () => 4000));
    // The gap starts a block at its own time.
    expect(blocks.map((b) => b.timestamp)).toContain(600_000);
    const left = joined(blocks, 0);
    const right = joined(blocks, 1);
    for (const i of [0, 999, 1000, 4799, 4800, 23_999, 24_000, 47_999]) {
      expect(left[i]).toBeCloseTo((i % 32768) / 32768, 6);
      expect(right[i]).toBeCloseTo(-(i % 32768) / 32768, 6);
    }
  });

  it('with batchSamples: a block ends where the stream changes rate and channels, with no gap in time', async () => {
    // One AAC stream in ADTS (no description: each frame's header names its rate and channels), made
    // by an independent ffmpeg: 1.1 s of 48 kHz stereo, then 1 s of 44.1 kHz mono, back to back in time.
    const stereo = await fixture('tone-48k-stereo.aac', ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=1.1', '-ac', '2', '-c:a', 'aac', '-b:a', '128k', '-f', 'adts']);
    const mono = await fixture('tone-44k1-mono.aac', ['-f', 'lavfi', '-i', 'sine=frequency=660:sample_rate=44100:duration=1', '-ac', '1', '-c:a', 'aac', '-b:a', '96k', '-f', 'adts']);
    const first = adtsFrames(await readFile(stereo), 48000, 0);
    const endUs = first.at(-1)!.timestamp + first.at(-1)!.duration!;
    const packets = [...first, ...adtsFrames(await readFile(mono), 44100, endUs)];
    const config: AudioDecoderConfig = { codec: 'mp4a.40.2', sampleRate: 48000, numberOfChannels: 2 };
    const frames = await decode(packets, config);
    const blocks = await decode(packets, config, 4800);
    // The decoder follows the stream: stereo at 48 kHz, then mono at 44.1 kHz.
    const change = frames.findIndex((f) => f.rate === 44100);
    expect(change).toBeGreaterThan(0);
    expect(frames.slice(0, change).every((f) => f.rate === 48000 && f.planes.length === 2)).toBe(true);
    expect(frames.slice(change).every((f) => f.rate === 44100 && f.planes.length === 1)).toBe(true);
    // No block mixes the two: the last stereo block ends short at the change, the first mono one starts
    // there, at the first mono frame's time; the samples of each part are all there, in order.
    const cut = blocks.findIndex((b) => b.rate === 44100);
    expect(cut).toBeGreaterThan(0);
    expect(blocks.slice(0, cut).every((b) => b.rate === 48000 && b.planes.length === 2)).toBe(true);
    expect(blocks.slice(cut).every((b) => b.rate === 44100 && b.planes.length === 1)).toBe(true);
    expect(blocks[cut]!.timestamp).toBe(frames[change]!.timestamp);
    // Four 1024-sample frames to a block: the stereo part's last block holds what is left of it.
    expect(change % 4).not.toBe(0);
    expect(blocks[cut - 1]!.n).toBe((change % 4) * 1024);
    const sum = (ds: Decoded[]): number => ds.reduce((n, d) => n + d.n, 0);
    expect(sum(blocks.slice(0, cut))).toBe(sum(frames.slice(0, change)));
    expect(sum(blocks.slice(cut))).toBe(sum(frames.slice(change)));
    for (const c of [0, 1]) expect(Buffer.from(joined(blocks.slice(0, cut), c).buffer).equals(Buffer.from(joined(frames.slice(0, change), c).buffer))).toBe(true);
    expect(Buffer.from(joined(blocks.slice(cut), 0).buffer).equals(Buffer.from(joined(frames.slice(change), 0).buffer))).toBe(true);
    // Back to back: the first mono block starts where the last stereo block's samples end (to the
    // microsecond of rounding), and where the stream put it, so it was not cut as a gap.
    const last = blocks[cut - 1]!;
    expect(Math.abs(last.timestamp + (last.n * 1e6) / 48000 - blocks[cut]!.timestamp)).toBeLessThanOrEqual(2);
    expect(Math.abs(blocks[cut]!.timestamp - endUs)).toBeLessThanOrEqual(2);
  });
});
