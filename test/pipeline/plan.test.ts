import { describe, expect, it } from 'vitest';
import { createPipelineConfig, type PipelineConfigInit, type TrackInfo } from '../../src/index.js';
import { chunkWorkerBytes, planOutput, planPipeline, type WorkerCodecs } from '../../src/pipeline/plan.js';
import { DEFAULT_QUEUES, runPolicy } from '../../src/pipeline/run-policy.js';

/** What a test source declares: raw 1280x720@30 video and 48 kHz stereo audio. */
const RAW: TrackInfo[] = [
  { id: 'v', kind: 'video', width: 1280, height: 720, fps: 30 },
  { id: 'a', kind: 'audio', sampleRate: 48000, channels: 2 },
];
/** What a file source declares for a 640x360@25 H.264 + 44.1 kHz AAC MP4 of 10 s. */
const FILE: TrackInfo[] = [
  { id: '0:video', kind: 'video', width: 640, height: 360, fps: 25, endUs: 10_000_000, encoded: { codec: 'avc', decoderConfig: { codec: 'avc1.64001e', codedWidth: 640, codedHeight: 360 } } },
  { id: '0:audio0', kind: 'audio', sampleRate: 44100, channels: 2, encoded: { codec: 'aac', decoderConfig: { codec: 'mp4a.40.2', sampleRate: 44100, numberOfChannels: 2 } } },
];

const plan = (init: PipelineConfigInit, tracks: TrackInfo[], endUs?: number): ReturnType<typeof planPipeline> => planPipeline(createPipelineConfig(init), tracks, endUs);

describe('planPipeline: a pure plan from the config and the declared tracks', () => {
  it('live: drop-oldest queues, no interleave bound, isolated stream failures, crash-safe files; raw tracks transcoded', () => {
    const p = plan({ outputs: [{ path: 'rec.mp4' }] }, RAW);
    expect(p.policy).toEqual({
      live: true, queuePolicy: 'drop-oldest', interleaveUs: Infinity, streamFailure: 'isolate', mixerWindowS: 10, decodedAudioBlockS: 0,
      fileWrites: { writeAside: false, fragmentS: 1, chunkBytes: 262144 }, queues: DEFAULT_QUEUES.live,
    });
    expect(p.branches).toEqual([
      { kind: 'video', tracks: [RAW[0]], mode: 'transcode', reasons: ['the source gives raw frames'], encode: true, split: null },
      { kind: 'audio', tracks: [RAW[1]], mode: 'transcode', reasons: ['the source gives raw frames'], encode: true, batchEncode: false },
    ]);
    expect(p.muxerTracks).toEqual({ video: 'h264', videoCopied: false, audio: 'opus' });
    expect(p.outputs).toEqual([{ spec: { kind: 'file', path: 'rec.mp4', container: 'mp4' }, tee: 'encoded', bounds: DEFAULT_QUEUES.live.output, onError: 'fail' }]);
    expect(p.keyframeIntervalUs).toBe(2_000_000);
  });

  it('non-live export of H.264 + AAC into MP4: blocking, written aside; the encoding follows the input and both tracks are copied', () => {
    const p = plan({ live: false, outputs: [{ path: 'out.mp4' }] }, FILE, 10_000_000);
    expect(p.policy).toMatchObject({ live: false, queuePolicy: 'block', interleaveUs: 1_000_000, streamFailure: 'fail', mixerWindowS: 1, decodedAudioBlockS: 0.1 });
    expect(p.policy.fileWrites).toEqual({ writeAside: true, fragmentS: undefined, chunkBytes: 4 << 20 });
    expect(p.encoding).toMatchObject({ width: 640, height: 360, fps: 25, videoCodec: 'h264', audioCodec: 'aac', sampleRate: 44100, channels: 2 });
    expect(p.branches.map((b) => [b.kind, b.mode, b.reasons, b.encode])).toEqual([['video', 'copy', [], false], ['audio', 'copy', [], false]]);
    expect(p.muxerTracks).toEqual({ video: 'h264', videoCopied: true, audio: 'aac' });
    expect(p.outputs[0]!.bounds).toEqual(DEFAULT_QUEUES.nonLive.output);
  });

  it('says why a track is transcoded: another size, another codec, an input that ends early, a late start', () => {
    const p = plan({ live: false, encoding: { width: 320, height: 180, audioCodec: 'opus' }, outputs: [{ path: 'out.mp4' }] }, FILE, 12_000_000);
    expect(p.branches.map((b) => b.reasons)).toEqual([
      ['the encoding asks for 320x180', 'it ends before the other inputs'],
      ['the encoding asks for opus', 'the encoding asks for 48000 Hz x2'],
    ]);
    const late = plan({ live: false, outputs: [{ path: 'out.mp4' }] }, [FILE[0]!, { ...FILE[1]!, startUs: 500_000 } as TrackInfo], 10_000_000);
    expect(late.branches.map((b) => [b.mode, b.reasons])).toEqual([['copy', []], ['transcode', ['it starts after the session start']]]);
    const forced = plan({ live: false, codecMode: 'transcode', outputs: [{ path: 'out.mp4' }] }, FILE, 10_000_000);
    expect(forced.branches.map((b) => b.reasons)).toEqual([['the config asks to transcode'], ['the config asks to transcode']]);
  });

  it('raw outputs: thumbnails take decoded video from the raw video tee, a websocket decoded audio; a failing stream is isolated only live', () => {
    const p = plan({ outputs: [{ path: 'rec.mp4' }, { path: 'thumb-%d.jpg', interval: 5 }, { url: 'ws://127.0.0.1:9/a' }] }, FILE);
    expect(p.branches.map((b) => [b.kind, b.mode, b.reasons[0]])).toEqual([['video', 'transcode', 'thumbnails need decoded frames'], ['audio', 'transcode', 'a websocket output needs decoded audio']]);
    expect(p.outputs.map((o) => [o.tee, o.onError])).toEqual([['encoded', 'fail'], ['video', 'fail'], ['audio', 'isolate']]);
    expect(p.outputs[1]!.bounds).toEqual(DEFAULT_QUEUES.live.video);
    // Non-live (no stream output passes validation there, so asked directly) a failing stream fails the run.
    const replay = createPipelineConfig({ live: false, outputs: [{ path: 'out.mp4' }] });
    expect(planOutput(DEFAULT_QUEUES.nonLive, runPolicy(false), { kind: 'stream', url: 'ws://127.0.0.1:9/a', protocol: 'websocket' }).onError).toBe('fail');
  });

  it('bounds live queues by 3 s of media first (items and bytes as safety bounds), non-live ones by a few items; each bound can be set', () => {
    expect(plan({ outputs: [{ path: 'a.mp4' }] }, RAW).queues).toEqual({
      video: { items: 300, bytes: 640 << 20, timeUs: 3_000_000 },
      audio: { items: 1000, bytes: 64 << 20, timeUs: 3_000_000 },
      encoder: 4,
      output: { items: 2000, bytes: 64 << 20, timeUs: 3_000_000 },
    });
    expect(plan({ live: false, outputs: [{ path: 'a.mp4' }] }, RAW).queues).toEqual({ video: { items: 8 }, audio: { items: 10 }, encoder: 4, output: { items: 160 } });
    // A number is an item bound; the other bounds keep their defaults.
    const set = plan({ outputs: [{ path: 'a.mp4' }], queues: { video: 50, output: { seconds: 1.5, bytes: 1e6 } } }, RAW);
    expect(set.queues.video).toEqual({ items: 50, bytes: 640 << 20, timeUs: 3_000_000 });
    expect(set.queues.output).toEqual({ items: 2000, bytes: 1e6, timeUs: 1_500_000 });
    expect(set.outputs[0]!.bounds).toEqual(set.queues.output);
  });

  it('several audio tracks are mixed (transcoded); copy mode refuses them', () => {
    const two: TrackInfo[] = [FILE[1]!, { ...FILE[1]!, id: '1:audio1' } as TrackInfo];
    const p = plan({ live: false, outputs: [{ path: 'out.mp4' }] }, two, 10_000_000);
    expect(p.branches).toEqual([{ kind: 'audio', tracks: two, mode: 'transcode', reasons: ['2 audio tracks are mixed'], encode: true, batchEncode: false }]);
    expect(() => plan({ live: false, codecMode: 'copy', outputs: [{ path: 'out.mp4' }] }, two)).toThrow('2 audio tracks must be mixed, which cannot be done by copying');
  });

  it('keyframes divide an HLS segment: 2 s asked, 3 s segments -> every 1.5 s', () => {
    expect(plan({ outputs: [{ playlist: 'live.m3u8', segmentDuration: 3 }] }, RAW).keyframeIntervalUs).toBe(1_500_000);
  });

  it('an encoding taken from the source that no encoder takes is refused before anything opens; copied, the same input is fine', () => {
    const thin: TrackInfo[] = [{ ...FILE[0]!, width: 4000, height: 10, label: 'input thin.mp4, video track 1' } as TrackInfo];
    expect(() => plan({ live: false, codecMode: 'transcode', encoding: { audioCodec: null }, outputs: [{ path: 'out.mp4' }] }, thin))
      .toThrow('input thin.mp4, video track 1: the encoding taken from it cannot be made (encoding.height must be at least 16, got 10): set encoding.height to encode it');
    expect(plan({ live: false, encoding: { audioCodec: null }, outputs: [{ path: 'out.mp4' }] }, thin).branches.map((b) => b.mode)).toEqual(['copy']);
  });

  it('leaves the config as it was', () => {
    const config = createPipelineConfig({ live: false, outputs: [{ path: 'out.mp4' }] });
    const before = structuredClone({ ...config });
    expect(planPipeline(config, FILE, 10_000_000).encoding).toMatchObject({ width: 640, height: 360, fps: 25 });
    // Field for field, the asked encoding included: the adopted one lives in the plan only.
    expect({ ...config }).toEqual(before);
    expect(config.encoding).toMatchObject({ width: 1280, height: 720, fps: 30 });
  });
});

describe('planPipeline: the audio encoder off the main thread (batches)', () => {
  // The file's video as long as the session: copied, not held to its end.
  const LONG = FILE.map((t) => (t.kind === 'video' ? { ...t, endUs: 3_600_000_000 } : t));
  const batch = (init: Partial<PipelineConfigInit>, endUs: number | undefined, nativeCodecs = true, tracks = LONG): boolean | undefined => {
    const p = planPipeline(createPipelineConfig({ live: false, outputs: [{ path: 'out.mp4' }], encoding: { audioCodec: 'opus' }, ...init }), tracks, endUs, { cores: 2, workerCodecs: nativeCodecs ? 'native' : 'wasm', batchAudio: nativeCodecs });
    return (p.branches.find((b) => b.kind === 'audio') as { batchEncode: boolean } | undefined)?.batchEncode;
  };

  it('in a non-live run of 20 s or more with the native codecs, when the audio is encoded and the video is not', () => {
    expect(batch({}, 20_000_000)).toBe(true);
    expect(batch({}, 19_000_000)).toBe(false);
    expect(batch({}, undefined)).toBe(false);
    expect(batch({}, 60_000_000, false)).toBe(false);
    // A provider object with a batch encoder (a NodeAvProvider given to the controller) batches, though no split worker could load it.
    expect(planPipeline(createPipelineConfig({ live: false, outputs: [{ path: 'out.mp4' }], encoding: { audioCodec: 'opus' } }), LONG, 60_000_000, { cores: 2, workerCodecs: null, batchAudio: true })
      .branches.some((b) => b.kind === 'audio' && b.batchEncode)).toBe(true);
    // Live audio is encoded as it comes: a batch would add a quarter second of latency.
    expect(batch({ live: true, outputs: [{ path: 'out.mp4' }] }, 60_000_000)).toBe(false);
    // The video encoded too: x264 keeps the cores busy, and a worker would only cost memory.
    expect(batch({ codecMode: 'transcode' }, 60_000_000)).toBe(false);
    // Copied AAC into MP4: nothing is encoded.
    expect(batch({ encoding: { audioCodec: 'aac', sampleRate: 44100 } }, 60_000_000)).toBe(false);
  });
});

describe('planPipeline: a split video encode (parallel)', () => {
  const PATTERN: TrackInfo[] = [
    { id: 'v', kind: 'video', width: 640, height: 360, fps: 30, splittable: { type: 'test-pattern' } },
    { id: 'a', kind: 'audio', sampleRate: 48000, channels: 2 },
  ];
  const split = (init: Partial<PipelineConfigInit>, endUs: number | undefined, cores: number, tracks = PATTERN, workerCodecs: WorkerCodecs | null = 'native'): unknown => {
    const p = planPipeline(createPipelineConfig({ live: false, outputs: [{ path: 'out.mp4' }], ...init }), tracks, endUs, { cores, workerCodecs, batchAudio: workerCodecs === 'native' });
    return (p.branches.find((b) => b.kind === 'video') as { split: unknown }).split;
  };

  it('cuts whole keyframe intervals, one chunk per worker (at most 30 s each), shared out evenly, covering every frame once', () => {
    const s = split({}, 60_000_000, 2) as { workers: number; threads: number; chunks: { index: number; startUs: number; endUs: number; firstFrame: number; endFrame: number }[] };
    expect(s.workers).toBe(2);
    expect(s.threads).toBe(1);
    expect(s.chunks.map((c) => [c.startUs, c.endUs])).toEqual([[0, 30_000_000], [30_000_000, 60_000_000]]);
    expect(s.chunks.map((c) => [c.firstFrame, c.endFrame])).toEqual([[0, 900], [900, 1800]]);
    // 4 cores, 25 s, keyframes every 3 s: 9 intervals (the last partial) shared 2, 2, 2, 3.
    const t = split({ encoding: { keyframeInterval: 3 } }, 25_000_000, 4) as typeof s;
    expect(t.workers).toBe(4);
    expect(t.chunks.map((c) => [c.startUs / 1e6, c.endUs / 1e6, c.firstFrame, c.endFrame])).toEqual([[0, 6, 0, 180], [6, 12, 180, 360], [12, 18, 360, 540], [18, 25, 540, 750]]);
    // An hour on 2 cores: chunks of at most 30 s (a stop ends the video after the chunk being handed on).
    const h = split({}, 3_600_000_000, 2) as typeof s;
    expect(h.chunks).toHaveLength(120);
    expect(h.chunks[1]).toMatchObject({ startUs: 30_000_000, firstFrame: 900 });
    expect(h.chunks.at(-1)).toMatchObject({ endUs: 3_600_000_000, endFrame: 108_000 });
    // Past the 30 s cap, a whole number of chunks per worker: 62 s on 2 workers is 4 chunks, not 3 (the third alone).
    const l = split({}, 62_000_000, 2) as typeof s;
    expect(l.chunks.map((c) => [c.startUs / 1e6, c.endUs / 1e6])).toEqual([[0, 14], [14, 30], [30, 46], [46, 62]]);
    for (const c of [s, t, h, l]) for (let i = 1; i < c.chunks.length; i++) expect(c.chunks[i]!.firstFrame).toBe(c.chunks[i - 1]!.endFrame);
  });

  it('auto splits only where it pays; a number insists, and says why it cannot', () => {
    expect(split({}, 60_000_000, 1)).toBeNull();
    expect(split({}, 19_000_000, 2)).toBeNull();
    expect(split({ parallel: 1 }, 60_000_000, 2)).toBeNull();
    expect(split({ parallel: 2 }, 19_000_000, 1)).toMatchObject({ workers: 2, threads: 1 });
    expect(split({}, undefined, 2)).toBeNull();
    expect(() => split({ parallel: 2 }, undefined, 2)).toThrow(/parallel: 2 cannot split this run: the source has no end/);
    expect(() => split({ parallel: 2, codecMode: 'transcode' }, 10_000_000, 2, FILE)).toThrow(/this video track cannot be cut into chunks \(the test source and a single input file/);
    expect(() => split({ parallel: 2 }, 10_000_000, 2, FILE)).toThrow(/the video is not encoded \(copied/);
    expect(() => split({ parallel: 2, outputs: [{ path: 'out.mp4' }, { images: 'thumbs/t_%03d.jpg' }] }, 60_000_000, 2)).toThrow(/thumbnails need decoded frames/);
    expect(() => split({ parallel: 2, limits: { maxDuration: 5 } }, 60_000_000, 2)).toThrow(/a limit may end the run/);
    // Each worker loads the run's provider by name: native or wasm, not a provider object.
    // On wasm as natively: one chunk per worker.
    const w = split({}, 60_000_000, 2, PATTERN, 'wasm') as { codecs: string; workers: number; chunks: { startUs: number; endUs: number }[] };
    expect(w).toMatchObject({ codecs: 'wasm', workers: 2 });
    expect(w.chunks.map((c) => [c.startUs, c.endUs])).toEqual([[0, 30_000_000], [30_000_000, 60_000_000]]);
    expect(split({}, 60_000_000, 2)).toMatchObject({ codecs: 'native' });
    expect(() => split({ parallel: 2 }, 60_000_000, 2, PATTERN, null)).toThrow(/a provider object cannot cross/);
    expect(split({}, 60_000_000, 2, PATTERN, null)).toBeNull();
    // The test pattern's chunks are made at its own size and rate.
    expect(() => split({ parallel: 2, encoding: { width: 320, height: 180 } }, 60_000_000, 2)).toThrow(/asks for 320x180@30 from a 640x360@30 test source/);
    expect(split({ encoding: { fps: 15 } }, 60_000_000, 2)).toBeNull();
    // A file's chunks are decoded, scaled and re-timed by each worker; auto splits a file too (the controller reads its timing first).
    const fileSplit: TrackInfo[] = FILE.map((t) => (t.kind === 'video' ? { ...t, splittable: { type: 'file', path: 'in.mkv', trackId: 1, shiftUs: 0, decoderConfig: t.encoded!.decoderConfig } } : t));
    expect(split({ parallel: 2, codecMode: 'transcode', encoding: { width: 320, height: 180, fps: 30 } }, 60_000_000, 2, fileSplit)).toMatchObject({ workers: 2, source: { type: 'file', path: 'in.mkv' } });
    // auto: an MP4/MOV file (its timing read from the sample tables), 20 s or more; not another container.
    const mp4Split: TrackInfo[] = fileSplit.map((t) => (t.kind === 'video' ? { ...t, mp4: { path: 'in.mp4', trackId: 1 } } : t));
    expect(split({ codecMode: 'transcode' }, 60_000_000, 2, mp4Split)).toMatchObject({ workers: 2, source: { type: 'file' } });
    expect(split({ codecMode: 'transcode' }, 19_000_000, 2, mp4Split)).toBeNull();
    expect(split({ codecMode: 'transcode' }, 60_000_000, 2, fileSplit)).toBeNull();
    expect(() => createPipelineConfig({ live: true, parallel: 2, outputs: [{ path: 'out.mp4' }] })).toThrow(/a live run is never split/);
    expect(() => createPipelineConfig({ live: false, parallel: 0, outputs: [{ path: 'out.mp4' }] })).toThrow(/parallel must be auto or a whole number from 1 to 64, got 0|whole number/);
  });

  it("auto takes no more workers than fit in the memory it may take; a number is the caller's", () => {
    const withMemory = (init: Partial<PipelineConfigInit>, cores: number, memoryBytes: number, tracks = PATTERN, codecs: WorkerCodecs = 'native'): unknown => {
      const p = planPipeline(createPipelineConfig({ live: false, outputs: [{ path: 'out.mp4' }], ...init }), tracks, 60_000_000, { cores, workerCodecs: codecs, batchAudio: false, memoryBytes });
      return (p.branches.find((b) => b.kind === 'video') as { split: unknown }).split;
    };
    const p360 = { width: 640, height: 360 };
    const worker = (threads: number, codecs: WorkerCodecs = 'native'): number => chunkWorkerBytes(p360, p360, threads, codecs);
    // Three workers of five threads fit, four of four do not: three, each with its share of the cores.
    expect(3 * worker(5)).toBeLessThan(4 * worker(4));
    expect(withMemory({}, 16, 3 * worker(5))).toMatchObject({ workers: 3, threads: 5 });
    expect(withMemory({}, 16, 16 * worker(1))).toMatchObject({ workers: 16, threads: 1 });
    // Room for one worker: not split at all; nor with no memory, or a count that is not one.
    expect(withMemory({}, 16, 1.5 * worker(16))).toBeNull();
    expect(withMemory({}, 16, 0)).toBeNull();
    expect(withMemory({}, 16, Number.NaN)).toBeNull();
    expect(withMemory({ parallel: 8 }, 16, 1.5 * worker(16))).toMatchObject({ workers: 8 });
    // A worker's share grows with the frame: room for two 360p workers is none for 4K ones (about 0.7 GiB each), room for two 4K ones is two.
    const uhd: TrackInfo[] = PATTERN.map((t) => (t.kind === 'video' ? { ...t, width: 3840, height: 2160 } : t));
    const k4 = { width: 3840, height: 2160 };
    expect(withMemory({}, 2, 2 * worker(1), uhd)).toBeNull();
    expect(withMemory({}, 2, 2 * chunkWorkerBytes(k4, k4, 1, 'native'), uhd)).toMatchObject({ workers: 2 });
    // A file's decoder works at the source's size: a 4K source split to 720p counts more than a 720p one.
    const p720 = { width: 1280, height: 720 };
    expect(chunkWorkerBytes(p720, k4, 1, 'native')).toBeGreaterThan(chunkWorkerBytes(p720, p720, 1, 'native') + 100 * 2 ** 20);
    // On wasm, ffmpeg.wasm's heap comes on top: room for two native workers is room for one wasm one.
    expect(worker(1, 'wasm')).toBeGreaterThan(worker(1));
    expect(withMemory({}, 2, 2 * worker(1), PATTERN, 'wasm')).toBeNull();
    expect(withMemory({}, 2, 2 * worker(1, 'wasm'), PATTERN, 'wasm')).toMatchObject({ workers: 2, codecs: 'wasm' });
  });
});

