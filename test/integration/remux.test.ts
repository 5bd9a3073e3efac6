import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createController, createPipelineConfig, type PipelineConfigInit, type PipelineResult } from '../../src/index.js';
import { beepOnsets, FFPROBE, flashTimes } from '../helpers/ffprobe.js';
import { avFixture } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const dir = tmpDir();

function exportFile(input: string, output: string, extra: Partial<PipelineConfigInit> = {}): Promise<PipelineResult> {
  return createController(createPipelineConfig({ live: false, source: { type: 'file', inputs: [{ path: input }] }, outputs: [{ path: output }], ...extra })).start();
}

/** Every packet of a kind as ffprobe reads it: times, flags, size and an MD5 of its bytes. */
async function packets(path: string, kind: 'v' | 'a'): Promise<string[]> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', kind, '-show_entries', 'packet=pts,dts,duration,size,flags,data_hash', '-show_data_hash', 'md5', '-of', 'csv', path], { maxBuffer: 64 << 20 });
  // Side data (AAC's skip samples) adds a line of its own: packets only.
  return stdout.split('\n').filter((line) => line.startsWith('packet,'));
}

/** The top-level boxes of a file, in order. */
function topBoxes(path: string): string[] {
  const b = readFileSync(path);
  const out: string[] = [];
  for (let at = 0; at + 8 <= b.byteLength;) {
    let size = b.readUInt32BE(at);
    if (size === 1) size = Number(b.readBigUInt64BE(at + 8));
    out.push(b.toString('latin1', at + 4, at + 8));
    at += size;
  }
  return out;
}

const H264_AAC = ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '30', '-c:a', 'aac'];

describe('an MP4 copied whole into an MP4 is a remux: the media copied in blocks under a rewritten moov', () => {
  it('keeps every packet as it was (times, flags, bytes: read back by ffprobe), puts the moov first, and plays the flashes and beeps in place', async () => {
    const input = await avFixture('remux-h264-aac.mp4', H264_AAC, 6);
    const out = join(dir, 'remux.mp4');
    const result = await exportFile(input, out, { codecMode: 'copy' });
    expect(result.error).toBeNull();
    expect(result.status).toBe('COMPLETE');
    expect(result.remux).toEqual({ used: true, reason: null });
    expect(result.tracks.map((t) => t.mode)).toEqual(['copy', 'copy']);
    for (const kind of ['v', 'a'] as const) {
      const want = await packets(input, kind);
      expect(want.length).toBeGreaterThan(100);
      expect(await packets(out, kind)).toEqual(want);
    }
    expect(topBoxes(out)).toEqual(['ftyp', 'moov', 'mdat']);
    const o = result.outputs[0]!;
    expect(o.type === 'file' && o.size).toBe(statSync(out).size);
    expect(o.type === 'file' && o.tracks.map((t) => [t.kind, t.codec, t.packets])).toEqual([['video', 'h264', 180], ['audio', 'aac', (await packets(input, 'a')).length]]);
    expect(result.durationMs).toBeCloseTo(6000, -2);
    expect(await flashTimes(out)).toEqual([0, 1, 2, 3, 4, 5].map((s) => expect.closeTo(s, 2)));
    const beeps = await beepOnsets(out);
    expect(beeps).toHaveLength(6);
    beeps.forEach((t, i) => expect(Math.abs(t - i)).toBeLessThan(0.03));
    // Nothing is left beside the output.
    expect(readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('with the moov at the end of the input, and with the audio left out (its bytes not copied)', async () => {
    const input = await avFixture('remux-moov-last.mp4', H264_AAC, 4);
    expect(topBoxes(input).indexOf('moov')).toBeGreaterThan(topBoxes(input).indexOf('mdat'));
    const out = join(dir, 'remux-video-only.mp4');
    const result = await exportFile(input, out, { encoding: { audioCodec: null } });
    expect(result.status).toBe('COMPLETE');
    expect(result.remux).toEqual({ used: true, reason: null });
    const video = await packets(input, 'v');
    expect(await packets(out, 'v')).toEqual(video);
    expect(await packets(out, 'a')).toEqual([]);
    // The file is the video's bytes and a moov: no audio data rides along.
    const videoBytes = video.reduce((n, line) => n + Number(line.split(',')[4]), 0);
    expect(statSync(out).size - videoBytes).toBeLessThan(20_000);
  });

  it('a fragmented MP4 and a QuickTime file go packet by packet, and say why', async () => {
    const frag = await avFixture('remux-frag.mp4', [...H264_AAC, '-movflags', 'frag_keyframe+empty_moov'], 3);
    const mov = await avFixture('remux-qt.mov', H264_AAC, 3);
    for (const [input, why] of [[frag, /fragmented/], [mov, /QuickTime/]] as const) {
      const out = join(dir, `packets-${input.slice(-8)}.mp4`);
      const result = await exportFile(input, out, { codecMode: 'copy' });
      expect(result.status).toBe('COMPLETE');
      expect(result.remux?.used).toBe(false);
      expect(result.remux?.reason).toMatch(why);
      expect((await packets(out, 'v')).length).toBe(90);
    }
  });

  it('is not tried where the export is more than a copy: transcoded, a size limit, another container', async () => {
    const input = await avFixture('remux-h264-aac.mp4', H264_AAC, 6);
    const cases: Partial<PipelineConfigInit>[] = [
      { codecMode: 'transcode' },
      { limits: { maxSize: 100_000_000 } },
    ];
    for (const extra of cases) {
      const result = await exportFile(input, join(dir, 'not-remux.mp4'), extra);
      expect(result.status).toBe('COMPLETE');
      expect(result.remux).toBeNull();
    }
    const webm = await createController(createPipelineConfig({ live: false, source: { type: 'file', inputs: [{ path: input }] }, outputs: [{ path: join(dir, 'not-remux.webm') }] })).start();
    expect(webm.remux).toBeNull();
  });

  it('an abort leaves no file: the path keeps what it held', async () => {
    const input = await avFixture('remux-h264-aac.mp4', H264_AAC, 6);
    const out = join(dir, 'kept.mp4');
    writeFileSync(out, 'what the user had');
    const controller = createController(createPipelineConfig({ live: false, source: { type: 'file', inputs: [{ path: input }] }, outputs: [{ path: out }] }));
    controller.on('status', (s) => {
      if (s === 'ACTIVE') void controller.abort();
    });
    const result = await controller.start();
    expect(result.status).toBe('ABORTED');
    expect(readFileSync(out, 'utf8')).toBe('what the user had');
    expect(existsSync(join(dir, '.kept.mp4.partial'))).toBe(false);
  });
});
