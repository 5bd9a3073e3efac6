import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createFile, MP4BoxBuffer } from 'mp4box';
import { describe, expect, it } from 'vitest';
import type { FileOutputResult, ImagesOutputResult, SegmentsOutputResult } from '../../src/index.js';
import { FFPROBE, beepOnsets, flashTimes, frames, probe, streamOf } from '../helpers/ffprobe.js';
import { record } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';
import { avFixture } from '../helpers/fixtures.js';

const run = promisify(execFile);
const dir = tmpDir();
const sd = { width: 640, height: 360 };

/** The playlist's segments: URI, EXTINF seconds and PROGRAM-DATE-TIME (ms) when present. */
function playlistEntries(path: string): { uri: string; duration: number; date: number | undefined }[] {
  const out: { uri: string; duration: number; date: number | undefined }[] = [];
  let duration = 0;
  let date: number | undefined;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) date = Date.parse(line.slice(25));
    else if (line.startsWith('#EXTINF:')) duration = Number(line.slice(8).split(',')[0]);
    else if (line !== '' && !line.startsWith('#')) {
      out.push({ uri: line, duration, date });
      date = undefined;
    }
  }
  return out;
}

/** Mean luma of a still image, read by ffprobe. */
async function meanLuma(path: string): Promise<number> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-f', 'lavfi', '-i', `movie=${path},signalstats`, '-show_entries', 'frame_tags=lavfi.signalstats.YAVG', '-of', 'csv=p=0']);
  return Number(stdout.trim());
}

/** Whether a segment's first video packet is a keyframe. */
async function startsWithKeyframe(path: string): Promise<boolean> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=flags', '-read_intervals', '%+#1', '-of', 'csv=p=0', path]);
  return stdout.trim().split('\n')[0]!.includes('K');
}

describe('several outputs from one encode, non-live', () => {
  const hls = join(dir, 'hls', 'index.m3u8');
  const file = join(dir, 'all.mp4');
  const thumbs = join(dir, 'thumbs', 'img_%03d.jpg');
  const result = record({
    live: false, source: { type: 'test', duration: 10 }, encoding: sd,
    outputs: [{ path: file }, { playlist: hls, segmentDuration: 4 }, { images: thumbs, interval: 0.5, width: 320 }],
  });

  it('completes with nothing dropped on any branch, every queue emptied', async () => {
    const r = await result;
    expect(r.status).toBe('COMPLETE');
    expect(r.speed).toBeGreaterThan(1);
    expect(r.queues.length).toBe(5);
    for (const q of r.queues) expect([q.name, q.policy, q.dropped, q.in - q.out]).toEqual([q.name, 'block', 0, 0]);
    // MP4 beside HLS: the codecs both take (H.264 + AAC), encoded once.
    expect(r.encoders.map((e) => e.name)).toEqual(['video-encoder', 'audio-encoder']);
    expect(streamOf(await probe(file), 'audio').codec_name).toBe('aac');
    expect(frames(streamOf(await probe(file), 'video'))).toBe(300);
  });

  it('writes HLS segments on keyframes (every 2 s), cut at the first at or after each 4 s: 4, 4 and 2 s (within an AAC frame), with every packet of the file', async () => {
    const r = await result;
    const seg = r.outputs[1] as SegmentsOutputResult;
    expect(seg).toMatchObject({ type: 'segments', playlist: hls, format: 'ts', exists: true, segmentCount: 3 });
    const entries = playlistEntries(hls);
    // A segment's duration spans its audio too: the first starts with the AAC priming frame before 0,
    // the last ends with the audio's last frame; each within one AAC frame (1024 samples) of the video's.
    const aacFrame = 1024 / 48000;
    entries.forEach((e, i) => expect(Math.abs(e.duration - [4, 4, 2][i]!)).toBeLessThanOrEqual(aacFrame + 1e-6));
    expect(entries.reduce((s, e) => s + e.duration, 0)).toBeCloseTo(10, 1);
    expect(readFileSync(hls, 'utf8')).toMatch(/#EXT-X-ENDLIST\n$/);
    for (const e of entries) expect(await startsWithKeyframe(join(dir, 'hls', e.uri))).toBe(true);
    const p = await probe(hls);
    expect(frames(streamOf(p, 'video'))).toBe(300);
    // Every audio packet of the file is in the segments (the MP4's edit list hides the priming frame from decoding, so count packets).
    expect(streamOf(p, 'audio').nb_read_packets).toBe(streamOf(await probe(file), 'audio').nb_read_packets);
  });

  it('dates segments by media time, not by the (faster than realtime) wall clock', async () => {
    const r = await result;
    expect(r.speed).toBeGreaterThan(1.5);
    const entries = playlistEntries(hls);
    for (let i = 1; i < entries.length; i++) {
      // ISO dates carry milliseconds: within 1 ms of the segment's media duration.
      expect(Math.abs(entries[i]!.date! - entries[i - 1]!.date! - entries[i - 1]!.duration * 1000)).toBeLessThanOrEqual(1);
    }
  });

  it('keeps A/V sync in the HLS stream within one video frame', async () => {
    const flashes = await flashTimes(hls);
    const beeps = await beepOnsets(hls);
    expect(flashes.length).toBe(10);
    expect(beeps.length).toBe(10);
    for (let i = 0; i < 10; i++) expect(Math.abs(flashes[i]! - beeps[i]!)).toBeLessThanOrEqual(1 / 30 + 0.001);
  });

  it('takes a thumbnail every interval of media time, none skipped, each showing its own moment', async () => {
    const r = await result;
    const img = r.outputs[2] as ImagesOutputResult;
    expect(img).toMatchObject({ type: 'images', format: 'jpeg', width: 320, height: 180, count: 20 });
    expect(img.images.map((i) => i.timestampMs)).toEqual(Array.from({ length: 20 }, (_, k) => k * 500));
    const p = await probe(img.images[3]!.path);
    expect([p.streams[0]!.codec_name, p.streams[0]!.width, p.streams[0]!.height]).toEqual(['mjpeg', 320, 180]);
    // The test source flashes white on every whole second: those thumbnails are white, the others not.
    for (const [k, i] of img.images.entries()) {
      const luma = await meanLuma(i.path);
      if (k % 2 === 0) expect(luma).toBeGreaterThan(200);
      else expect(luma).toBeLessThan(160);
    }
    expect((r.outputs[0] as FileOutputResult).exists).toBe(true);
  });
});

describe('HLS in fragmented MP4 (CMAF)', () => {
  it('has one init segment and exactly one fragment per segment, each starting with a keyframe (read by mp4box)', async () => {
    const playlist = join(dir, 'cmaf', 'v.m3u8');
    const r = await record({ live: false, source: { type: 'test', duration: 7 }, encoding: { ...sd, keyframeInterval: 1 }, outputs: [{ playlist, segmentFormat: 'fmp4', segmentDuration: 2 }] });
    expect(r.status).toBe('COMPLETE');
    const text = readFileSync(playlist, 'utf8');
    const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(text)![1]!;
    const entries = playlistEntries(playlist);
    expect(entries.length).toBe(4);
    const init = readFileSync(join(dir, 'cmaf', map));
    const buf = (b: Buffer, start: number): MP4BoxBuffer => MP4BoxBuffer.fromArrayBuffer(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer, start);
    let videoStart: number | undefined;
    for (const e of entries) {
      const seg = readFileSync(join(dir, 'cmaf', e.uri));
      const mp4 = createFile();
      mp4.appendBuffer(buf(init, 0));
      mp4.appendBuffer(buf(seg, init.byteLength));
      mp4.flush();
      expect(mp4.boxes.filter((b) => (b.start ?? 0) >= init.byteLength && b.type === 'moof').length).toBe(1);
      const moof = mp4.moofs[0]!;
      const video = moof.trafs.find((t) => t.tfhd!.track_id === 1)!;
      const flags = video.truns[0]!.first_sample_flags ?? video.truns[0]!.sample_flags?.[0] ?? video.tfhd!.default_sample_flags!;
      // sample_is_non_sync_sample (bit 16) clear: a keyframe.
      expect((flags >> 16) & 1).toBe(0);
      // Fragments continue one timeline: each starts where the one before ended.
      videoStart ??= Number(video.tfdt!.baseMediaDecodeTime);
      expect(Number(video.tfdt!.baseMediaDecodeTime)).toBe(videoStart);
      videoStart += video.truns[0]!.sample_count * (video.tfhd!.default_sample_duration ?? 0);
    }
    expect(frames(streamOf(await probe(playlist), 'video'))).toBe(210);
  });

  it('keeps every segment\'s audio on one timeline: AAC\'s priming frame (at -21 ms) moves every segment alike, no edit list; every beep read back 1 s after the one before', async () => {
    const input = await avFixture('cmaf-marks.mp4', ['-c:v', 'libx264', '-g', '60', '-c:a', 'aac'], 8);
    const playlist = join(dir, 'cmaf-marks', 'index.m3u8');
    const r = await record({ live: false, source: { type: 'file', inputs: [{ path: input }] }, codecMode: 'transcode', encoding: { audioCodec: 'aac' }, outputs: [{ playlist, segmentFormat: 'fmp4', segmentDuration: 2 }] });
    expect(r.status).toBe('COMPLETE');
    const beeps = await beepOnsets(playlist);
    expect(beeps).toHaveLength(8);
    // The whole timeline starts at the priming frame: every beep 1024 samples after its second.
    beeps.forEach((t, k) => expect(Math.abs(t - k - 1024 / 48000)).toBeLessThanOrEqual(0.002));
    const flashes = await flashTimes(playlist);
    expect(flashes).toHaveLength(8);
    // The flashes keep their spacing too (ffmpeg reads this fMP4's B-frame video, negative composition
    // offsets, two frames late: the same at every flash).
    flashes.forEach((t, k) => expect(Math.abs(t - k - flashes[0]!)).toBeLessThan(0.001));
  });
});

describe('HLS, live', () => {
  it('keeps a sliding-window playlist beside the full one, both closed with ENDLIST on stop', async () => {
    const playlist = join(dir, 'live', 'event.m3u8');
    const livePlaylist = join(dir, 'live', 'live.m3u8');
    const r = await record({ source: { type: 'test', duration: 5 }, encoding: { width: 320, height: 240 }, outputs: [{ playlist, livePlaylist, liveWindow: 3, segmentDuration: 1 }] });
    expect(r.status).toBe('COMPLETE');
    const all = playlistEntries(playlist);
    const window = playlistEntries(livePlaylist);
    expect(all.length).toBe(5);
    expect(window.map((e) => e.uri)).toEqual(all.slice(-3).map((e) => e.uri));
    const text = readFileSync(livePlaylist, 'utf8');
    expect(text).toContain(`#EXT-X-MEDIA-SEQUENCE:${all.length - 3}`);
    expect(text).not.toContain('PLAYLIST-TYPE');
    expect(text).toMatch(/#EXT-X-ENDLIST\n$/);
    expect(readFileSync(playlist, 'utf8')).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
    expect(readFileSync(playlist, 'utf8')).toMatch(/#EXT-X-ENDLIST\n$/);
    // Live: the first segment is dated when the run started (media time 0), not when it was written.
    expect(Math.abs(all[0]!.date! - r.startedAt!)).toBeLessThan(300);
    expect(all[4]!.date! - all[1]!.date!).toBe(3000);
  });

  it('dates an export from the startDate it is given', async () => {
    const playlist = join(dir, 'dated', 'd.m3u8');
    const startDate = new Date('2026-01-02T03:04:05.000Z');
    const r = await record({ live: false, source: { type: 'test', duration: 3 }, encoding: { width: 320, height: 240 }, outputs: [{ playlist, startDate, segmentDuration: 1 }] });
    expect(r.status).toBe('COMPLETE');
    const entries = playlistEntries(playlist);
    // The first segment starts at media time 0, or a few ms before it (the AAC encoder's priming).
    expect(Math.abs(entries[0]!.date! - startDate.getTime())).toBeLessThanOrEqual(25);
    expect(entries[2]!.date! - startDate.getTime()).toBe(2000);
  });
});
