import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { record } from '../helpers/run.js';
import { serveDir } from '../helpers/static-server.js';
import { CHROMIUM, CHROMIUM_MISSING, describeNeeding } from '../helpers/peers.js';
import { tmpDir } from '../helpers/tmp.js';

/** hls.js (a devDependency) as the page loads it: its UMD build, a global Hls. */
const HLS_JS = createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js');
const dir = tmpDir();
let browser: Browser;
let server: Awaited<ReturnType<typeof serveDir>>;

beforeAll(async () => {
  if (CHROMIUM === undefined) return;
  browser = await chromium.launch({
    executablePath: CHROMIUM!,
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
async function play(src: string): Promise<{ ended: boolean; duration: number; frames: number; corrupted: number; error: string | null }> {
  const page = await browser.newPage();
  writeFileSync(join(dir, 'player.html'), '<!doctype html><video id="v" muted playsinline></video>');
  await page.goto(`${server.url}/player.html`);
  // Runs in the page (a string: this project's TypeScript has no DOM types).
  const out = await page.evaluate(`new Promise((resolve) => {
    const v = document.getElementById('v');
    const done = (ended) => {
      const q = v.getVideoPlaybackQuality();
      resolve({ ended, duration: v.duration, frames: q.totalVideoFrames, corrupted: q.corruptedVideoFrames, error: v.error ? (v.error.message || String(v.error.code)) : null });
    };
    v.addEventListener('ended', () => done(true));
    v.addEventListener('error', () => done(false));
    setTimeout(() => done(false), 30000);
    v.src = ${JSON.stringify(`${server.url}/${src}`)};
    v.playbackRate = 4;
    v.play().catch(() => undefined);
  })`) as { ended: boolean; duration: number; frames: number; corrupted: number; error: string | null };
  await page.close();
  return out;
}

describeNeeding(CHROMIUM_MISSING)('a real player (headless Chromium) plays what avpipe wrote', () => {
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

  it("ladder/master.m3u8 in hls.js (Chromium's MSE): both renditions listed as the master states them, each played when forced, to the end", async () => {
    expect((await ladder).status).toBe('COMPLETE');
    copyFileSync(HLS_JS, join(dir, 'hls.min.js'));
    writeFileSync(join(dir, 'hlsjs.html'), '<!doctype html><script src="hls.min.js"></script><video id="v" muted playsinline></video>');
    const page = await browser.newPage();
    await page.goto(`${server.url}/hlsjs.html`);
    // The 640x360 rendition forced first, the 320x180 one from 2 s of media on.
    const r = await page.evaluate(`new Promise((resolve) => {
      const v = document.getElementById('v');
      const hls = new Hls();
      const widths = [];
      let switched = false;
      const done = (ended, error) => resolve({ ended, error, widths,
        levels: hls.levels.map((l) => [l.width, l.height, l.bitrate]) });
      const level = (w) => hls.levels.findIndex((l) => l.width === w);
      hls.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal) done(false, d.details); });
      hls.on(Hls.Events.MANIFEST_PARSED, () => {
        hls.currentLevel = level(640);
        v.playbackRate = 2;
        v.play().catch(() => undefined);
      });
      v.addEventListener('resize', () => { if (widths.at(-1) !== v.videoWidth) widths.push(v.videoWidth); });
      v.addEventListener('timeupdate', () => {
        if (!switched && v.currentTime >= 2) { switched = true; hls.currentLevel = level(320); }
      });
      v.addEventListener('ended', () => done(true, null));
      setTimeout(() => done(false, 'timeout'), 30000);
      hls.loadSource(${JSON.stringify(`${server.url}/ladder/master.m3u8`)});
      hls.attachMedia(v);
    })`) as { ended: boolean; error: string | null; widths: number[]; levels: [number, number, number][] };
    await page.close();
    expect(r.error).toBeNull();
    expect(r.ended).toBe(true);
    // hls.js reads the master: both renditions, at the size and peak bandwidth it states.
    const master = readFileSync(join(dir, 'ladder', 'master.m3u8'), 'utf8');
    const stated = [...master.matchAll(/BANDWIDTH=(\d+),.*RESOLUTION=(\d+)x(\d+)/g)].map((m) => [Number(m[2]), Number(m[3]), Number(m[1])]);
    expect([...r.levels].sort((a, b) => b[0] - a[0])).toEqual(stated);
    // Each rendition was shown when forced: 640 first, then 320 (a switch flushes what was buffered,
    // so the frame count says nothing here).
    expect(r.widths).toEqual([640, 320]);
  });

  it.each(['ts/index.m3u8', 'fmp4/index.m3u8', 'file.mp4', 'live.mp4', 'remuxed.mp4'])('%s: plays to the end at 4x, all 180 frames decoded (shown, or dropped for time), none corrupt', async (src) => {
    expect((await outputs).status).toBe('COMPLETE');
    expect((await cmaf).status).toBe('COMPLETE');
    expect((await hybrid).status).toBe('COMPLETE');
    expect((await remuxed).remux).toEqual({ used: true, reason: null });
    const r = await play(src);
    expect(r.error).toBeNull();
    expect(r.ended).toBe(true);
    expect(r.duration).toBeCloseTo(6, 0);
    // totalVideoFrames counts every frame decoded, shown or dropped for time (at 4x a player may drop
    // some from display): all of the file's 180.
    expect([r.frames, r.corrupted]).toEqual([180, 0]);
  });
});
