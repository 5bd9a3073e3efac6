import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import * as jobs from '../src/jobs/index.js';

/**
 * The package's runtime exports, exactly: what a user calls (config, controller, sources, the WHIP
 * server, codec providers, errors, storage, repair) and the media classes a custom source builds.
 * A new export is a decision: add it here on purpose, or import it from its own module.
 */
const PUBLIC = [
  'AUDIO_CODECS', 'AudioData', 'AudioResampler', 'AvpipeError', 'CODEC_PROVIDER_CHOICES', 'CONTAINER_CODECS', 'ConfigError', 'ERROR_CODES', 'WARNING_CODES',
  'Controller', 'EncodedAudioChunk', 'EncodedChunk', 'EncodedVideoChunk', 'FILE_CONTAINERS', 'FileSource', 'H264_PROFILES',
  'InputError', 'LocalStorage', 'S3Storage', 'BackupStorage', 'NodeAvProvider', 'PRESETS', 'PRESET_NAMES', 'PipelineConfig', 'SPEED_PRESETS', 'TestSource',
  'VIDEO_CODECS', 'VideoFrame', 'WasmProvider', 'WebRtcSource', 'WhipServer', 'allowedCodecs', 'containerOfPath',
  'createController', 'createControllerWithSource', 'createPipelineConfig', 'isPresetName', 'loadCodecProvider',
  'outputKindOfPath', 'redactUrl', 'repairRecording', 'streamProtocolOf', 'validateConfig',
];

describe('public API', () => {
  it('exports exactly the public names', () => {
    expect(Object.keys(api).sort()).toEqual([...PUBLIC].sort());
  });

  it('avpipe/jobs, its own entry (BullMQ loads only there), exports exactly the queue, the worker, its cost estimate and its metrics', () => {
    expect(Object.keys(jobs).sort()).toEqual(['DEFAULT_MAX_CPU', 'DEFAULT_QUEUE', 'JobHandle', 'JobQueue', 'JobWorker', 'createJobQueue', 'createWorker', 'estimateJobCost', 'serveWorkerHttp', 'workerMetrics']);
    expect(Object.keys(api)).not.toContain('createJobQueue');
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { exports: Record<string, { import: string }> };
    expect(pkg.exports['./jobs']?.import).toBe('./dist/jobs/index.js');
  });

  it('leaves the pipeline internals out', () => {
    for (const name of ['Tee', 'BoundedQueue', 'QueueNode', 'FileSink', 'Segmenter', 'Interleaver', 'FileMuxer', 'Uploader', 'mediaPlaylist', 'AudioMixer']) {
      expect(api, name).not.toHaveProperty(name);
    }
  });

  it('exports working entry points', () => {
    const config = api.createPipelineConfig({ live: false, source: { type: 'test', duration: 1 }, outputs: [{ path: 'out.mp4' }] });
    expect(config).toBeInstanceOf(api.PipelineConfig);
    expect(api.createController(config)).toBeInstanceOf(api.Controller);
    expect(new api.ConfigError([])).toBeInstanceOf(api.AvpipeError);
  });

  it('carries no internal tag in index.ts, whose comments would strip the export after them from the published types', () => {
    // tsconfig.build.json sets stripInternal: a declaration whose leading comment holds the tag is left out of dist/*.d.ts.
    expect(readFileSync(new URL('../src/index.ts', import.meta.url), 'utf8')).not.toContain('@' + 'internal');
  });
});
