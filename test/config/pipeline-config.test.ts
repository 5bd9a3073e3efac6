import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError, PRESETS, PipelineConfig, createPipelineConfig, validateConfig, type PipelineConfigInit,
} from '../../src/index.js';
import { problemsOf } from '../helpers/config.js';
import { tmpDir } from '../helpers/tmp.js';

const base: PipelineConfigInit = { outputs: [{ path: 'out.mp4' }] };


describe('PipelineConfig', () => {
  it('is live by default from every way of building one, and isReplay() is its negation', () => {
    expect(createPipelineConfig(base).live).toBe(true);
    expect(new PipelineConfig(base).live).toBe(true);
    expect(createPipelineConfig(base).isReplay()).toBe(false);
    const replay = createPipelineConfig({ ...base, live: false });
    expect(replay.live).toBe(false);
    expect(replay.isReplay()).toBe(true);
    // No second flag stored: isReplay is a method on the prototype, not an own field.
    expect(Object.keys(replay)).not.toContain('isReplay');
    expect(Object.keys(replay)).not.toContain('replay');
  });

  it('fills defaults and applies a preset, with advanced fields overriding it', () => {
    const c = createPipelineConfig(base);
    expect(c.encoding).toMatchObject({ width: 1280, height: 720, fps: 30, videoCodec: 'h264', audioCodec: 'opus', h264Profile: 'main', speedPreset: 'veryfast', keyframeInterval: 2 });
    const p = createPipelineConfig({ ...base, encoding: { preset: 'H264_1080P_60' } });
    expect(p.encoding).toMatchObject({ width: 1920, height: 1080, fps: 60, videoBitrateKbps: 6000 });
    const portrait = createPipelineConfig({ ...base, encoding: { preset: 'PORTRAIT_H264_720P_30', videoBitrateKbps: 2500 } });
    expect(portrait.encoding).toMatchObject({ width: 720, height: 1280, fps: 30, videoBitrateKbps: 2500 });
  });

  it("has egress's eight presets", () => {
    expect(PRESETS).toMatchObject({
      H264_720P_30: { width: 1280, height: 720, fps: 30, videoBitrateKbps: 3000 },
      H264_720P_60: { width: 1280, height: 720, fps: 60, videoBitrateKbps: 4500 },
      H264_1080P_30: { width: 1920, height: 1080, fps: 30, videoBitrateKbps: 4500 },
      H264_1080P_60: { width: 1920, height: 1080, fps: 60, videoBitrateKbps: 6000 },
      PORTRAIT_H264_1080P_30: { width: 1080, height: 1920, fps: 30, videoBitrateKbps: 4500 },
    });
    expect(Object.keys(PRESETS)).toHaveLength(8);
  });

  it('types outputs from the path or URL', () => {
    expect(createPipelineConfig({ outputs: [{ path: 'a/b.webm' }], encoding: { videoCodec: 'vp8' } }).outputs[0]).toEqual({ kind: 'file', path: 'a/b.webm', container: 'webm' });
  });
});

describe('validation', () => {
  it('rejects odd and too-small sizes, naming the field', () => {
    expect(problemsOf({ ...base, encoding: { width: 641, height: 360 } })).toEqual([{ field: 'encoding.width', message: expect.stringContaining('even') }]);
    expect(problemsOf({ ...base, encoding: { width: 640, height: 8 } })).toEqual([{ field: 'encoding.height', message: expect.stringContaining('at least 16') }]);
  });

  it("rejects codecs a container cannot hold (egress's table)", () => {
    expect(problemsOf({ outputs: [{ path: 'a.webm' }], encoding: { videoCodec: 'h264' } })).toEqual([{ field: 'encoding.videoCodec', message: expect.stringContaining('not allowed in webm') }]);
    expect(problemsOf({ outputs: [{ path: 'a.webm' }], encoding: { videoCodec: 'vp9', audioCodec: 'aac' } })).toEqual([{ field: 'encoding.audioCodec', message: expect.stringContaining('not allowed in webm') }]);
    expect(problemsOf({ outputs: [{ path: 'a.ogg' }], encoding: { videoCodec: 'h264' } })).toEqual([{ field: 'encoding.videoCodec', message: expect.stringContaining('audio only') }]);
    expect(problemsOf({ outputs: [{ path: 'a.mp4' }], encoding: { videoCodec: 'vp8' } })).toEqual([{ field: 'encoding.videoCodec', message: expect.stringContaining('not allowed in mp4') }]);
    expect(problemsOf({ outputs: [{ path: 'a.ogg' }], encoding: { videoCodec: null } })).toEqual([]);
    // Codecs left open default to the container's own.
    expect(createPipelineConfig({ outputs: [{ path: 'a.ogg' }] }).encoding).toMatchObject({ videoCodec: null, audioCodec: 'opus' });
    expect(createPipelineConfig({ outputs: [{ path: 'a.webm' }] }).encoding).toMatchObject({ videoCodec: 'vp8', audioCodec: 'opus' });
    expect(problemsOf({ outputs: [{ path: 'a.mp4' }], encoding: { audioCodec: 'aac' } })).toEqual([]);
  });

  it.each(['rtmp://live.example/app/key', 'rtmps://live.example/app/key', 'srt://host:9000', 'ws://host/audio', 'wss://host/audio'])(
    'rejects the stream output %s on a non-live pipeline',
    (url) => {
      const problems = problemsOf({ live: false, outputs: [{ url }] });
      expect(problems).toContainEqual({ field: 'outputs[0].url', message: expect.stringContaining('non-live') });
    },
  );

  it('reports every problem at once, each naming its field', () => {
    const problems = problemsOf({
      live: false,
      encoding: { width: 15, height: 21, fps: 0, preset: 'H264_4K' as never, h264Profile: 'extended' as never, speedPreset: 'ludicrous' as never, channels: 6 },
      outputs: [{ path: 'x.mp4' }, { url: 'rtmp://a/b' }, { path: 'y.avi' }],
      queues: { video: 0 },
      limits: { maxDuration: -1 },
    });
    expect(problems.map((p) => p.field).sort()).toEqual([
      'encoding.channels', 'encoding.fps', 'encoding.h264Profile', 'encoding.height', 'encoding.preset', 'encoding.speedPreset',
      'encoding.width', 'limits.maxDuration', 'outputs', 'outputs[1].url', 'outputs[2].path', 'queues.video',
    ].sort());
  });

  it('refuses queue bounds that are not positive whole items or positive seconds, naming each', () => {
    expect(problemsOf({ outputs: [{ path: 'a.mp4' }], queues: { video: { seconds: 0, items: 2.5 }, audio: { sec: 1 } as never, encoder: { items: 2 } as never } }).map((p) => p.field).sort())
      .toEqual(['queues.audio', 'queues.encoder', 'queues.video.items', 'queues.video.seconds']);
  });

  it('refuses a trim whose start is not seconds >= 0 or whose end is not after its start, per input and for the session', () => {
    const path = 'package.json';
    expect(problemsOf({ live: false, outputs: [{ path: 'a.mp4' }], source: { type: 'file', inputs: [{ path, start: 2, end: 2 }, { path, start: -1 }], start: 3, end: 1 } }).sort((a, b) => a.field.localeCompare(b.field))).toEqual([
      { field: 'source.end', message: 'must be seconds after start (3), got 1' },
      { field: 'source.inputs[0].end', message: 'must be seconds after start (2), got 2' },
      { field: 'source.inputs[1].start', message: 'must be seconds >= 0, got -1' },
    ]);
    expect(problemsOf({ live: false, outputs: [{ path: 'a.mp4' }], source: { type: 'file', inputs: [{ path, start: 0.5, end: 9 }], end: 4 } })).toEqual([]);
  });

  it('takes a ladder of renditions: the first is the encode, names default to the height, bitrates to the share of pixels; bad rungs named', () => {
    const e = createPipelineConfig({ outputs: [{ path: 'a.mp4' }], encoding: { videoBitrateKbps: 2000, renditions: [{ width: 1280, height: 720 }, { width: 640, height: 360 }, { name: 'tiny', width: 320, height: 180, videoBitrateKbps: 90 }] } }).encoding;
    expect([e.width, e.height, e.videoBitrateKbps]).toEqual([1280, 720, 2000]);
    expect(e.renditions).toEqual([
      { name: '720p', width: 1280, height: 720, videoBitrateKbps: 2000 },
      { name: '360p', width: 640, height: 360, videoBitrateKbps: 500 },
      { name: 'tiny', width: 320, height: 180, videoBitrateKbps: 90 },
    ]);
    expect(problemsOf({
      outputs: [{ path: 'a.mp4', rendition: 'mid' }],
      encoding: { renditions: [{ width: 640, height: 360 }, { width: 1280, height: 720 }, { name: '360p', width: 321, height: 180 }] },
    }).map((p) => p.field).sort()).toEqual(['encoding.renditions[1].height', 'encoding.renditions[1].width', 'encoding.renditions[2].name', 'encoding.renditions[2].width', 'outputs[0].rendition']);
  });

  it('needs an output, and at most one file output', () => {
    expect(problemsOf({ outputs: [] })).toEqual([{ field: 'outputs', message: expect.stringContaining('at least one') }]);
    expect(problemsOf({ outputs: [{ path: 'a.mp4' }, { path: 'b.mp4' }] })).toEqual([{ field: 'outputs', message: expect.stringContaining('at most one file') }]);
  });

  it('returns no problem for a valid config', () => {
    expect(validateConfig({ live: false, encoding: { preset: 'H264_720P_30', videoCodec: 'h264', audioCodec: 'aac', sampleRate: 44100 }, outputs: [{ path: 'a.mp4' }] })).toEqual([]);
  });

  it('creates no file for a rejected config', () => {
    const dir = tmpDir();
    const path = join(dir, 'never.mp4');
    expect(() => createPipelineConfig({ live: false, encoding: { width: 99 }, outputs: [{ path }, { url: 'rtmp://a/b' }] })).toThrow(ConfigError);
    expect(existsSync(path)).toBe(false);
  });
});

describe('outputs', () => {
  it('tells each output type from its path or URL', () => {
    const c = createPipelineConfig({ outputs: [{ path: 'a.mp4' }, { path: 'hls/x.m3u8' }, { path: 'th/i_%05d.jpg' }, { url: 'rtmp://h/app/key' }] });
    expect(c.outputs.map((o) => o.kind)).toEqual(['file', 'segments', 'images', 'stream']);
    expect(c.outputs[1]).toMatchObject({ segmentDuration: 4, segmentFormat: 'ts', segmentTemplate: 'x_%05d.ts' });
    expect(c.outputs[2]).toMatchObject({ format: 'jpeg', interval: 10 });
  });

  it('picks the codecs every output takes: MP4 beside HLS or RTMP is H.264 + AAC', () => {
    expect(createPipelineConfig({ outputs: [{ path: 'a.mp4' }, { playlist: 'x.m3u8' }] }).encoding).toMatchObject({ videoCodec: 'h264', audioCodec: 'aac' });
    expect(createPipelineConfig({ outputs: [{ path: 'a.mp4' }] }).encoding.audioCodec).toBe('opus');
    // Media no output takes is not made.
    expect(createPipelineConfig({ outputs: [{ images: 't_%d.png' }] }).encoding).toMatchObject({ audioCodec: null });
    expect(createPipelineConfig({ outputs: [{ url: 'ws://h/audio' }] }).encoding).toMatchObject({ videoCodec: null });
  });

  it('refuses what an output cannot hold or do, naming the output', () => {
    expect(problemsOf({ outputs: [{ playlist: 'x.m3u8' }], encoding: { audioCodec: 'opus' } })).toEqual([{ field: 'encoding.audioCodec', message: expect.stringContaining('HLS segments (x.m3u8)') }]);
    expect(problemsOf({ outputs: [{ path: 'a.webm' }, { playlist: 'x.m3u8' }] })).toContainEqual({ field: 'outputs', message: expect.stringContaining('no video codec fits every output') });
    expect(problemsOf({ outputs: [{ playlist: 'x.m3u8', segmentDuration: 0, segmentFormat: 'mkv' as 'ts', segmentTemplate: 'seg.ts' }] }).map((p) => p.field))
      .toEqual(['outputs[0].segmentDuration', 'outputs[0].segmentFormat', 'outputs[0].segmentTemplate']);
    expect(problemsOf({ outputs: [{ playlist: 'hls/a.m3u8', livePlaylist: 'other/live.m3u8' }] }).map((p) => p.field)).toEqual(['outputs[0].livePlaylist']);
    expect(problemsOf({ outputs: [{ images: 'thumb.jpg' }] })).toEqual([{ field: 'outputs[0].images', message: expect.stringContaining('%d') }]);
    expect(problemsOf({ outputs: [{ images: 't_%d.jpg', interval: -1, width: 33 }] }).map((p) => p.field)).toEqual(['outputs[0].interval', 'outputs[0].width']);
    expect(problemsOf({ outputs: [{ url: 'srt://h:9000' }] })).toEqual([{ field: 'outputs[0].url', message: expect.stringContaining('not implemented') }]);
    expect(problemsOf({ outputs: [{ url: 'rtmp://host/onlyapp' }] })).toEqual([{ field: 'outputs[0].url', message: expect.stringContaining('app and a stream key') }]);
  });

  it("keeps egress's limits: one file, one segments and one stream output, any number of image outputs", () => {
    expect(problemsOf({ outputs: [{ path: 'a.mp4' }, { path: 'b.mp4' }] })).toEqual([{ field: 'outputs', message: 'at most one file output, got 2' }]);
    expect(problemsOf({ outputs: [{ playlist: 'a.m3u8' }, { playlist: 'b.m3u8' }] })).toEqual([{ field: 'outputs', message: 'at most one segments (HLS) output, got 2' }]);
    expect(problemsOf({ outputs: [{ url: 'rtmp://a/live/key' }, { url: 'ws://c/d' }] })).toEqual([{ field: 'outputs', message: 'at most one stream output, got 2' }]);
    expect(problemsOf({ outputs: [{ path: 'a.mp4' }, { images: 'a_%d.jpg' }, { images: 'b_%d.png' }, { images: 'c_%d.jpg' }] })).toEqual([]);
  });
});
