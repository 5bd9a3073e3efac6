import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createController, createPipelineConfig, type SegmentsOutputResult } from '../../src/index.js';
import { FFPROBE, flashTimes, frames, probe, streamOf } from '../helpers/ffprobe.js';
import { tmpDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const dir = tmpDir();

/** Presentation times (s) of a video's keyframes, by ffprobe. */
async function keyframeTimes(path: string): Promise<number[]> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', path], { maxBuffer: 16 << 20 });
  return stdout.trim().split('\n').map((l) => l.split(',')).filter(([, f]) => f?.startsWith('K') === true).map(([t]) => Number(t)).sort((a, b) => a - b);
}

describe('renditions: one decode, an encoder per rung, keyframes on one grid', () => {
  it('HLS (TS) gets a master playlist over a media playlist per rendition, a file the rendition it names; every variant read back', async () => {
    const master = join(dir, 'ladder', 'master.m3u8');
    const low = join(dir, 'low.mp4');
    const result = await createController(createPipelineConfig({
      live: false, source: { type: 'test', duration: 4 },
      encoding: { audioCodec: 'aac', keyframeInterval: 1, renditions: [{ width: 640, height: 360, videoBitrateKbps: 800 }, { name: 'low', width: 320, height: 180, videoBitrateKbps: 200 }] },
      outputs: [{ playlist: master, segmentDuration: 1 }, { path: low, rendition: 'low' }],
    })).start();
    expect(result.error).toBeNull();
    // Two video encoders of 120 frames each and one audio encoder, the audio shared by every variant.
    expect(result.encoders.map((e) => [e.name, e.framesIn])).toEqual([['video-encoder', 120], ['video-encoder-low', 120], ['audio-encoder', expect.any(Number)]]);

    const hls = result.outputs[0] as SegmentsOutputResult;
    expect(hls.renditions?.map((r) => [r.name, r.width, r.height, r.segmentCount])).toEqual([['360p', 640, 360, 4], ['low', 320, 180, 4]]);
    // The master lists both, with what a player chooses by: measured bandwidths, size, codecs, rate.
    const text = readFileSync(master, 'utf8');
    const variants = [...text.matchAll(/#EXT-X-STREAM-INF:(.*)\n(.*)/g)].map((m) => ({ attrs: m[1]!, uri: m[2]! }));
    expect(variants.map((v) => v.uri)).toEqual(['master_360p.m3u8', 'master_low.m3u8']);
    variants.forEach((v, i) => {
      const r = hls.renditions![i]!;
      // H.264 Main (avc1.4d....) as encoded, AAC-LC.
      expect(v.attrs).toMatch(new RegExp(`^BANDWIDTH=${r.bandwidth},AVERAGE-BANDWIDTH=${r.averageBandwidth},RESOLUTION=${r.width}x${r.height},CODECS="avc1\\.4d[0-9a-f]{4},mp4a\\.40\\.2",FRAME-RATE=30\\.000$`));
      expect(r.bandwidth).toBeGreaterThanOrEqual(r.averageBandwidth);
    });
    expect(hls.renditions![0]!.averageBandwidth).toBeGreaterThan(hls.renditions![1]!.averageBandwidth);

    // Each media playlist, read by ffprobe: its own size, every frame, keyframes at the same times in
    // both (a player can switch at any segment), the flashes in place; the file has the low rung.
    const keys: number[][] = [];
    for (const [name, w, h] of [['master_360p.m3u8', 640, 360], ['master_low.m3u8', 320, 180]] as const) {
      const path = join(dir, 'ladder', name);
      const v = streamOf(await probe(path), 'video');
      expect([v.width, v.height, frames(v)]).toEqual([w, h, 120]);
      keys.push(await keyframeTimes(path));
      expect((await flashTimes(path)).map((t) => Math.round(t * 30))).toEqual([0, 30, 60, 90]);
    }
    expect(keys[0]).toEqual([0, 1, 2, 3]);
    expect(keys[1]).toEqual(keys[0]);
    const f = streamOf(await probe(low), 'video');
    expect([f.width, f.height, frames(f)]).toEqual([320, 180, 120]);
  });
});
