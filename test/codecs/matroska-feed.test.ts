import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EncodedAudioChunk } from '../../src/index.js';
import { FEED_BASE_US, matroskaBlock, matroskaCodecFor, matroskaHeader } from '../../src/codecs/wasm/matroska-feed.js';
import { FFPROBE } from '../helpers/ffprobe.js';
import { tmpDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const dir = tmpDir();

describe('the Matroska feed of the wasm decoders', () => {
  it('is read by ffprobe: the codec, its parameters, and every chunk at its own microsecond, negative ones included', async () => {
    // 20 ms of 48 kHz stereo s16 per chunk, starting 6.5 ms before zero (as an Opus pre-skip does).
    const stamps = Array.from({ length: 10 }, (_, k) => -6500 + k * 20_000 + (k % 3));
    const parts = [matroskaHeader({ codec: 'pcm-s16', sampleRate: 48000, numberOfChannels: 2 })];
    for (const timestamp of stamps) parts.push(...matroskaBlock(new EncodedAudioChunk({ type: 'key', timestamp, data: new Uint8Array(960 * 4).fill(k(timestamp)) })));
    const path = join(dir, 'feed.mkv');
    writeFileSync(path, Buffer.concat(parts));
    const { stdout } = await run(FFPROBE, ['-v', 'error', '-show_streams', '-show_packets', '-of', 'json', path]);
    const p = JSON.parse(stdout) as { streams: { codec_name: string; sample_rate: string; channels: number }[]; packets: { pts: number; size: string; flags: string }[] };
    expect(p.streams[0]).toMatchObject({ codec_name: 'pcm_s16le', sample_rate: '48000', channels: 2 });
    expect(p.packets.map((x) => x.pts - FEED_BASE_US)).toEqual(stamps);
    expect(p.packets.every((x) => x.size === String(960 * 4) && x.flags.startsWith('K'))).toBe(true);
  });

  it('names a CodecID for every codec the decoders take, makes the private data some need, and refuses others', () => {
    expect(matroskaCodecFor({ codec: 'avc1.64001f' })?.id).toBe('V_MPEG4/ISO/AVC');
    expect(matroskaCodecFor({ codec: 'hev1.1.6.L93.B0' })?.id).toBe('V_MPEGH/ISO/HEVC');
    expect(matroskaCodecFor({ codec: 'vp09.00.10.08' })?.id).toBe('V_VP9');
    expect(matroskaCodecFor({ codec: 'mp4a.40.2' })?.id).toBe('A_AAC');
    expect(matroskaCodecFor({ codec: 'mp3' })?.id).toBe('A_MPEG/L3');
    // A WebRTC Opus track has no OpusHead: one is made (channels, no pre-skip).
    const opus = matroskaCodecFor({ codec: 'opus', numberOfChannels: 2 })!;
    expect(new TextDecoder().decode(opus.private!.subarray(0, 8))).toBe('OpusHead');
    expect([opus.private![9], opus.private![10], opus.private![11]]).toEqual([2, 0, 0]);
    // G.711 goes as a WAVEFORMATEX: mu-law is format tag 7, A-law 6.
    expect(matroskaCodecFor({ codec: 'ulaw', numberOfChannels: 1, sampleRate: 8000 })).toMatchObject({ id: 'A_MS/ACM', bitDepth: 8 });
    expect(matroskaCodecFor({ codec: 'ulaw', numberOfChannels: 1, sampleRate: 8000 })!.private![0]).toBe(7);
    expect(matroskaCodecFor({ codec: 'alaw', numberOfChannels: 1, sampleRate: 8000 })!.private![0]).toBe(6);
    expect(matroskaCodecFor({ codec: 'mp4v.20.9' })).toBeUndefined();
    expect(() => matroskaHeader({ codec: 'mp4v.20.9' })).toThrow(/cannot read codec "mp4v.20.9"/);
  });
});

/** A byte that differs between chunks. */
function k(timestamp: number): number {
  return Math.abs(timestamp) % 251;
}
