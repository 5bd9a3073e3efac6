import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodeAvProvider, type CodecProvider } from '../../src/index.js';
import { EncoderNode } from '../../src/codecs/encoder-node.js';
import { WasmVideoEncoder } from '../../src/codecs/wasm/wasm-video-encoder.js';
import type { VideoFrame } from '../../src/media/video-frame.js';
import { TestPattern } from '../../src/sources/test-pattern.js';
import { frameTimestamp } from '../../src/time.js';
import { beepOnsets, flashTimes, frames, probe, streamOf, videoPackets } from '../helpers/ffprobe.js';
import { record } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

const dir = tmpDir();

describe('WasmVideoEncoder (x264 in ffmpeg.wasm, in a worker)', () => {
  it('encodes the test source behind the codec seam: every frame, the profile asked, keyframes on the GOP, A/V in sync', async () => {
    const native = await NodeAvProvider.load();
    // Video on wasm, audio native: the seam takes any mix of providers' codecs.
    const provider: CodecProvider = {
      name: 'wasm-h264',
      createVideoEncoder: (init) => new WasmVideoEncoder(init),
      createAudioEncoder: (init) => native.createAudioEncoder(init),
    };
    const out = join(dir, 'wasm.mp4');
    const result = await record({
      live: false, source: { type: 'test', duration: 4 }, outputs: [{ path: out }],
      encoding: { width: 320, height: 240, fps: 30, videoCodec: 'h264', audioCodec: 'aac', h264Profile: 'main', keyframeInterval: 2 },
    }, { codecProvider: provider });
    expect(result.status, JSON.stringify(result.error)).toBe('COMPLETE');
    expect(result.codecProvider).toBe('wasm-h264');
    const v = streamOf(await probe(out), 'video');
    expect(v).toMatchObject({ codec_name: 'h264', profile: 'Main', width: 320, height: 240 });
    expect(frames(v)).toBe(120);
    const encoder = result.encoders.find((e) => e.name === 'video-encoder')!;
    expect(encoder).toMatchObject({ framesIn: 120, chunksOut: 120, keyframes: 2 });
    // What ffprobe reads: keyframes at 0 and 2 s, as keyframeInterval asks (not only the encoder's own count).
    expect((await videoPackets(out)).filter((p) => p.key).map((p) => p.t)).toEqual([0, 2]);
    const [flashes, beeps] = await Promise.all([flashTimes(out), beepOnsets(out)]);
    expect(flashes.length).toBe(4);
    flashes.forEach((f, i) => expect(Math.abs(f - beeps[i]!)).toBeLessThanOrEqual(1 / 30));
  }, 60_000);

  it('gives its packets as it encodes, not at the end (a live recording waits for none)', async () => {
    const packets: number[] = [];
    const errors: Error[] = [];
    const enc = new WasmVideoEncoder({ output: (c) => packets.push(c.timestamp), error: (e) => errors.push(e) });
    enc.configure({ codec: 'avc1.4d001f', width: 320, height: 180, framerate: 30, bitrate: 500_000, speedPreset: 'veryfast' });
    const pattern = new TestPattern(320, 180, 30);
    for (let i = 0; i < 90; i++) enc.encode(pattern.frame(i, frameTimestamp(i, 30), frameTimestamp(i + 1, 30) - frameTimestamp(i, 30)));
    // Before any flush: x264 holds back its lookahead (a few dozen frames at most), the rest comes out.
    for (let waited = 0; packets.length < 45 && waited < 20_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(packets.length).toBeGreaterThanOrEqual(45);
    await enc.flush();
    expect(packets).toHaveLength(90);
    expect(errors).toEqual([]);
    enc.close();
  }, 60_000);

  /** The keyframes' times when the test pattern's frames `indices` (30 fps, 320x180) go through an encoder node of `provider`, keyframes every `intervalUs` (2 s) from `originUs`. */
  async function keyframes(provider: CodecProvider, indices: number[], originUs?: number, intervalUs = 2_000_000): Promise<number[]> {
    const pattern = new TestPattern(320, 180, 30);
    let k = 0;
    const frames = new ReadableStream<VideoFrame>({
      pull: (c) => {
        const i = indices[k++];
        if (i === undefined) return c.close();
        const t = frameTimestamp(i, 30);
        c.enqueue(pattern.frame(i, t, frameTimestamp(i + 1, 30) - t));
      },
    }, { highWaterMark: 0 });
    const node = EncoderNode.video(provider, { codec: 'avc1.4d001f', width: 320, height: 180, framerate: 30, bitrate: 500_000, speedPreset: 'veryfast', keyframeInterval: Math.ceil((intervalUs * 30) / 1e6 - 1e-9) }, intervalUs, 4, originUs);
    const keys: number[] = [];
    try {
      for await (const out of frames.pipeThrough(node.stream)) if (out.chunk.type === 'key') keys.push(out.chunk.timestamp);
    } finally {
      node.close();
    }
    return keys;
  }

  it("forces keyframes on the media-time grid as the native encoder does: across gaps (live drops), from a split chunk's origin after its lead-in, at an interval of no whole frames", async () => {
    const native = await NodeAvProvider.load();
    const wasm: CodecProvider = { name: 'wasm-h264', createVideoEncoder: (init) => new WasmVideoEncoder(init), createAudioEncoder: (init) => native.createAudioEncoder(init) };
    // Frames 40-69 (1.33-2.3 s) dropped: the grid's 2 s keyframe falls on the first frame after, 2.33 s; then 4 s (not 60 frames on, 3 s).
    const gap = [...Array(180).keys()].filter((i) => i < 40 || i >= 70);
    // A chunk from 5 s with a 0.5 s lead-in: the encoder's own first IDR at 4.5 s (the lead-in's, dropped by the chunk), then 5 s and 7 s.
    const chunk = Array.from({ length: 105 }, (_, i) => 135 + i);
    // Frames 40-165 (1.33-5.5 s) dropped, past two grid points: one keyframe at 5.53 s, then 6 s (not one per point missed).
    const longGap = [...Array(240).keys()].filter((i) => i < 40 || i >= 166);
    // Every 1.65 s (49.5 frames; -g 50): the first frames at or after 1.65, 3.3 and 4.95 s are frames 50, 99 and 149, not every 50th.
    const all = [...Array(160).keys()];
    for (const provider of [wasm, native]) {
      expect(await keyframes(provider, gap), provider.name).toEqual([0, 2_333_333, 4_000_000]);
      expect(await keyframes(provider, longGap), provider.name).toEqual([0, 5_533_333, 6_000_000]);
      expect(await keyframes(provider, chunk, 5_000_000), provider.name).toEqual([4_500_000, 5_000_000, 7_000_000]);
      expect(await keyframes(provider, all, undefined, 1_650_000), provider.name).toEqual([0, 1_666_667, 3_300_000, 4_966_667]);
      // HLS's 5/3 s as the plan rounds it (1 666 667 us): a frame on a point a microsecond late (3 333 333 us) is not past it.
      expect(await keyframes(provider, all, undefined, 1_666_667), provider.name).toEqual([0, 1_666_667, 3_366_667, 5_033_333]);
    }
  }, 60_000);
});
