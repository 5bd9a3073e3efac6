import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { record } from '../helpers/run.js';
import { serveDir } from '../helpers/static-server.js';
import { tmpDir } from '../helpers/tmp.js';

/** Debian's chromium (.ci/run installs it; a test tool's own browser download cannot work here). */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const have = existsSync(CHROMIUM);
if (!have) process.stderr.write(`browser tests skipped: no chromium at ${CHROMIUM} (apt-get install chromium, as .ci/run does)\n`);

const dir = tmpDir();
let browser: Browser;
let server: Awaited<ReturnType<typeof serveDir>>;

beforeAll(async () => {
  if (!have) return;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
  server = await serveDir(dir);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Plays `src` to its end in a <video> at 4x; what the player saw. */
async function play(src: string): Promise<{ ended: boolean; duration: number; frames: number; width: number; error: string | null }> {
  const page = await browser.newPage();
  writeFileSync(join(dir, 'player.html'), '<!doctype html><video id="v" muted playsinline></video>');
  await page.goto(`${server.url}/player.html`);
  // Runs in the page (a string: this project's TypeScript has no DOM types).
  const out = await page.evaluate(`new Promise((resolve) => {
    const v = document.getElementById('v');
    const done = (ended) => resolve({ ended, duration: v.duration, frames: v.getVideoPlaybackQuality().totalVideoFrames, width: v.videoWidth, error: v.error ? (v.error.message || String(v.error.code)) : null });
    v.addEventListener('ended', () => done(true));
    v.addEventListener('error', () => done(false));
    setTimeout(() => done(false), 30000);
    v.src = ${JSON.stringify(`${server.url}/${src}`)};
    v.playbackRate = 4;
    v.play().catch(() => undefined);
  })`) as { ended: boolean; duration: number; frames: number; width: number; error: string | null };
  await page.close();
  return out;
}

describe.skipIf(!have)('a real player (headless Chromium) plays what avpipe wrote', () => {
  const outputs = record({
    live: false, source: { type: 'test', duration: 6 }, encoding: { width: 640, height: 360 },
    outputs: [{ path: join(dir, 'file.mp4') }, { playlist: join(dir, 'ts', 'index.m3u8'), segmentDuration: 2 }],
  });
  const cmaf = outputs.then(() => record({ live: false, source: { type: 'test', duration: 6 }, encoding: { width: 640, height: 360, audioCodec: 'aac' }, outputs: [{ playlist: join(dir, 'fmp4', 'index.m3u8'), segmentFormat: 'fmp4', segmentDuration: 2 }] }));

  // A live MP4: written in fragments, finalized in place into a regular MP4 (mdats between free boxes).
  const hybrid = cmaf.then(() => record({ live: true, source: { type: 'test', duration: 6 }, encoding: { width: 640, height: 360 }, outputs: [{ path: join(dir, 'live.mp4') }] }));

  // An export of file.mp4 copied whole: a remux (moov first, media copied in blocks).
  const remuxed = hybrid.then(() => record({ live: false, source: { type: 'file', inputs: [{ path: join(dir, 'file.mp4') }] }, codecMode: 'copy', outputs: [{ path: join(dir, 'remuxed.mp4') }] }));

  // A ladder of two renditions: a master playlist over two media playlists.
  const ladder = remuxed.then(() => record({
    live: false, source: { type: 'test', duration: 6 }, encoding: { audioCodec: 'aac', renditions: [{ width: 640, height: 360 }, { width: 320, height: 180 }] },
    outputs: [{ playlist: join(dir, 'ladder', 'master.m3u8'), segmentDuration: 2 }],
  }));

  it.each([['ladder/master.m3u8', [640, 320]]] as const)('%s: plays to the end at a width of %j, every frame decoded', async (src, widths) => {
    expect((await ladder).status).toBe('COMPLETE');
    const r = await play(src);
    expect(r.error).toBeNull();
    expect(r.ended).toBe(true);
    expect(r.duration).toBeCloseTo(6, 0);
    expect(widths).toContain(r.width);
    expect(r.frames).toBeGreaterThanOrEqual(170);
  });

  it.each(['ts/index.m3u8', 'fmp4/index.m3u8', 'file.mp4', 'live.mp4', 'remuxed.mp4'])('%s: plays to the end, every frame decoded', async (src) => {
    expect((await outputs).status).toBe('COMPLETE');
    expect((await cmaf).status).toBe('COMPLETE');
    expect((await hybrid).status).toBe('COMPLETE');
    expect((await remuxed).remux).toEqual({ used: true, reason: null });
    const r = await play(src);
    expect(r.error).toBeNull();
    expect(r.ended).toBe(true);
    expect(r.duration).toBeCloseTo(6, 0);
    // Played at 4x a player may skip a few frames to keep up; it must have decoded nearly all 180.
    expect(r.frames).toBeGreaterThanOrEqual(170);
  });
});
