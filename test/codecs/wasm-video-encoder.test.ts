import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodeAvProvider, type CodecProvider } from '../../src/index.js';
import { WasmVideoEncoder } from '../../src/codecs/wasm/wasm-video-encoder.js';
import { beepOnsets, flashTimes, frames, probe, streamOf } from '../helpers/ffprobe.js';
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
    const [flashes, beeps] = await Promise.all([flashTimes(out), beepOnsets(out)]);
    expect(flashes.length).toBe(4);
    flashes.forEach((f, i) => expect(Math.abs(f - beeps[i]!)).toBeLessThanOrEqual(1 / 30));
  }, 60_000);
});
