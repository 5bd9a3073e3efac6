import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createControllerWithSource, createPipelineConfig } from '../../src/index.js';
import { DriftingPublisher } from '../helpers/drifting-publisher.js';
import { beepOnsets, flashTimes } from '../helpers/ffprobe.js';
import { tmpDir } from '../helpers/tmp.js';

const dir = tmpDir();
const SECONDS = 300;
const FRAME = 1 / 30;

/** `seconds` of a publisher whose audio clock runs 300 ppm fast, in media time (as fast as the pipeline goes), to MP4. */
async function record(name: string, clockDrift: boolean, seconds = SECONDS) {
  const publisher = new DriftingPublisher({ seconds, audioPpm: 300, clockDrift });
  const path = join(dir, `${name}.mp4`);
  const config = createPipelineConfig({ live: false, outputs: [{ path }], encoding: { width: 160, height: 96, fps: 30 } });
  const result = await createControllerWithSource(config, publisher).start();
  expect(result.error).toBeNull();
  // Every flash and beep read back by ffmpeg: their offsets, beep minus flash, at each second.
  const flashes = await flashTimes(path);
  const beeps = await beepOnsets(path);
  expect(flashes).toHaveLength(seconds);
  expect(beeps).toHaveLength(seconds);
  return { result, publisher, offsets: beeps.map((b, i) => b - flashes[i]!) };
}

describe('a publisher whose audio clock runs 300 ppm fast, 5 minutes (time compressed)', () => {
  it('stays in sync: every beep within a frame of its flash to the end, the drift measured (300 ppm) and resampled away', async () => {
    const { result, publisher, offsets } = await record('corrected', true);
    expect(Math.max(...offsets.map(Math.abs))).toBeLessThan(FRAME);
    // And much closer than a frame once measured: within 2 ms from 10 s on.
    expect(Math.max(...offsets.slice(10).map(Math.abs))).toBeLessThan(0.002);
    const [video, audio] = publisher.sync();
    expect(video).toMatchObject({ syncedBy: 'sender-report', outliers: 0 });
    expect(audio).toMatchObject({ syncedBy: 'sender-report', outliers: 0 });
    expect(audio!.clockPpm!).toBeCloseTo(300, 0);
    const drift = result.tracks.find((t) => t.kind === 'audio')!.drift!;
    expect(drift.measuredPpm!).toBeCloseTo(300, 0);
    // 300 ppm of 300 s: 90 ms of samples taken out.
    expect(drift.correctedUs).toBeGreaterThan(88_000);
    expect(drift.correctedUs).toBeLessThan(92_000);
  });

  it('without the correction (the audio not declared clockDrift) its beeps fall behind its flashes: 45 ms (more than a frame) at 150 s', async () => {
    const { result, offsets } = await record('uncorrected', false, 150);
    expect(result.tracks.find((t) => t.kind === 'audio')!.drift).toBeUndefined();
    expect(offsets[offsets.length - 1]!).toBeGreaterThan(0.040);
    expect(offsets[offsets.length - 1]!).toBeLessThan(0.050);
  });
});
