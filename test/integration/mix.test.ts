import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createController, createPipelineConfig, type PipelineResult } from '../../src/index.js';
import { bandLevel, beepOnsets, flashTimes, frames, packetSpan, probe, streamOf } from '../helpers/ffprobe.js';
import { audioFixture, fixture, FLASH_SRC } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';

const dir = tmpDir();
const FRAME = 1 / 30;

const run = (inputs: { path: string; offset?: number; route?: 'left' | 'right' | 'both' }[], output: string): Promise<PipelineResult> =>
  createController(createPipelineConfig({ live: false, source: { type: 'file', inputs }, outputs: [{ path: output }] })).start();

const flashVideo = (): Promise<string> => fixture('flash-only.mp4', ['-f', 'lavfi', '-i', FLASH_SRC(4), '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
const beep = (): Promise<string> => audioFixture('beep-opus.ogg', ['-c:a', 'libopus']);
const hum = (): Promise<string> => fixture('hum-300.wav', ['-f', 'lavfi', '-i', 'aevalsrc=0.4*sin(2*PI*300*t):s=48000:d=4', '-ac', '2', '-c:a', 'pcm_s16le']);

describe('mixing and routing', () => {
  it('mixes two audio tracks from two files into one, with both tones in it', async () => {
    const out = join(dir, 'mixed.ogg');
    const result = await run([{ path: await beep() }, { path: await hum() }], out);
    expect(result.status).toBe('COMPLETE');
    expect(result.tracks.map((t) => t.mode)).toEqual(['transcode', 'transcode']);
    expect(result.decoders).toHaveLength(2);
    const a = streamOf(await probe(out), 'audio');
    expect(a.channels).toBe(2);
    expect(await bandLevel(out, 1000)).toBeGreaterThan(-30);
    expect(await bandLevel(out, 300)).toBeGreaterThan(-30);
    expect((await beepOnsets(out)).length).toBeGreaterThanOrEqual(1);
  });

  it('routes each track to the side asked for, and only there', async () => {
    const out = join(dir, 'routed.ogg');
    const result = await run([{ path: await hum(), route: 'left' }, { path: await beep(), route: 'right' }], out);
    expect(result.status).toBe('COMPLETE');
    const [humLeft, humRight] = [await bandLevel(out, 300, 'c0'), await bandLevel(out, 300, 'c1')];
    const [beepLeft, beepRight] = [await bandLevel(out, 1000, 'c0'), await bandLevel(out, 1000, 'c1')];
    expect(humLeft).toBeGreaterThan(-25);
    expect(humRight).toBeLessThan(humLeft - 40);
    expect(beepRight).toBeGreaterThan(-35);
    expect(beepLeft).toBeLessThan(beepRight - 40);
  });

  it('clamps a mix that would clip instead of wrapping around', async () => {
    const loud = await fixture('loud-440.wav', ['-f', 'lavfi', '-i', 'aevalsrc=0.9*sin(2*PI*440*t):s=48000:d=2', '-ac', '2', '-c:a', 'pcm_s16le']);
    const out = join(dir, 'clamped.ogg');
    const result = await run([{ path: loud }, { path: loud }], out);
    expect(result.status).toBe('COMPLETE');
    // Two in-phase 0.9 sines sum to 1.8: clamped, the peak stays at full scale and the tone stays a tone.
    expect(await bandLevel(out, 440)).toBeGreaterThan(-6);
  });
});

describe('timing across inputs', () => {
  it('a track that joins 1 s late is silence until then, and A/V stay in sync within one frame', async () => {
    const out = join(dir, 'late.mp4');
    const result = await run([{ path: await flashVideo() }, { path: await beep(), offset: 1 }], out);
    expect(result.status).toBe('COMPLETE');
    const p = await probe(out);
    const v = streamOf(p, 'video');
    // The session runs to the late track's end (5 s): the video holds its last frame to there.
    expect(frames(v)).toBe(150);
    const [va, aa] = [await packetSpan(out, 'video'), await packetSpan(out, 'audio')];
    expect(Math.abs(va.start - Math.max(0, aa.start))).toBeLessThanOrEqual(FRAME);
    const beeps = await beepOnsets(out);
    expect(beeps).toHaveLength(4);
    beeps.forEach((t, k) => expect(Math.abs(t - (k + 1))).toBeLessThanOrEqual(FRAME));
    const flashes = await flashTimes(out);
    expect(flashes).toHaveLength(4);
    flashes.forEach((t, k) => expect(Math.abs(t - k)).toBeLessThanOrEqual(FRAME));
  });

  it('a hole in an audio track is filled with silence and what follows keeps its time', async () => {
    // The beep with 1.5 s .. 2.5 s cut out, timestamps kept (Matroska carries them).
    const holed = await fixture('holed.mka', ['-f', 'lavfi', '-i', 'aevalsrc=if(lt(mod(t\\,1)\\,0.1)\\,0.5*sin(2*PI*1000*t)\\,0)|if(lt(mod(t\\,1)\\,0.1)\\,0.5*sin(2*PI*1000*t)\\,0):s=48000:d=4',
      '-af', "aselect='not(between(t\\,1.5\\,2.5))'", '-c:a', 'libopus']);
    const out = join(dir, 'holed.mp4');
    const result = await run([{ path: await flashVideo() }, { path: holed }], out);
    expect(result.status).toBe('COMPLETE');
    const beeps = await beepOnsets(out);
    expect(beeps).toHaveLength(3);
    [0, 1, 3].forEach((t, k) => expect(Math.abs(beeps[k]! - t)).toBeLessThanOrEqual(FRAME));
    const a = await packetSpan(out, 'audio');
    expect(a.end - Math.max(0, a.start)).toBeGreaterThanOrEqual(3.98);
  });
});

// Non-live, 24 s, the video copied: the plan puts the audio encoder on a worker (batches), which the
// plan's own tests pin; here, what comes out of that path.
describe('a long mix with the video copied (the path whose audio the plan encodes in batches on a worker)', () => {
  it('copies the video, mixes the beeps (Opus) with a quiet AAC track: every beep on its flash, every encoded packet in the file', async () => {
    const video = await fixture('flash-24.mp4', ['-f', 'lavfi', '-i', FLASH_SRC(24), '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
    const opus = await audioFixture('beep-24.ogg', ['-c:a', 'libopus'], 24);
    const aac = await fixture('quiet-24.m4a', ['-f', 'lavfi', '-i', 'aevalsrc=0.001*sin(2*PI*300*t):s=48000:d=24', '-ac', '2', '-c:a', 'aac']);
    const out = join(dir, 'long-mix.mp4');
    const result = await createController(createPipelineConfig({
      live: false, source: { type: 'file', inputs: [{ path: video }, { path: opus }, { path: aac }] }, encoding: { audioCodec: 'opus' }, outputs: [{ path: out }],
    })).start();
    expect(result.status).toBe('COMPLETE');
    expect(result.tracks.map((t) => t.mode)).toEqual(['copy', 'transcode', 'transcode']);
    // Every packet the encoder gave is in the file, and they reach the end of the 24 s.
    const span = await packetSpan(out, 'audio');
    expect(span.packets).toBe(result.encoders.find((e) => e.name === 'audio-encoder')!.chunksOut);
    expect(span.end).toBeGreaterThan(23.98);
    expect(span.end).toBeLessThan(24.1);
    const flashes = await flashTimes(out);
    expect(flashes).toHaveLength(24);
    const beeps = await beepOnsets(out);
    expect(beeps).toHaveLength(24);
    beeps.forEach((t, i) => expect(Math.abs(t - flashes[i]!), `beep ${i}`).toBeLessThan(FRAME));
  });
});
