import type { PipelineConfig } from '../config/pipeline-config.js';
import type { TrackInfo } from './track-info.js';
import { frameTimestamp } from '../time.js';
import { SourceBase } from './source-base.js';
import type { RawMedia, Source } from './source.js';
import { TestPattern } from './test-pattern.js';
import { TestTone } from './test-tone.js';

/** Options of the built-in test source. */
export interface TestSourceOptions {
  /** Frame width, pixels (default 1280). */
  width?: number;
  /** Frame height, pixels (default 720). */
  height?: number;
  /** Frames per second (default 30). */
  fps?: number;
  /** Audio samples per second, Hz (default 48000). */
  sampleRate?: number;
  /** Audio channels (default 2). */
  channels?: number;
  /** Media seconds; unbounded when absent (then it runs until `stop()`). */
  duration?: number;
  /** Produce a video track (default true). */
  video?: boolean;
  /** Produce an audio track (default true). */
  audio?: boolean;
}

/** Track ids of the test source. */
export const TEST_VIDEO_TRACK = 'test-video';
export const TEST_AUDIO_TRACK = 'test-audio';

/**
 * The built-in test source: a scrolling pattern that flashes white on the first frame of every
 * second, and silence with a 1 kHz beep starting on every second, exactly aligned, so A/V sync can be
 * read back out of any output. Live: paced at 1x by the wall clock. Non-live: as fast as the
 * pipeline pulls.
 */
export class TestSource extends SourceBase implements Source {
  readonly name = 'test';
  private readonly _opts: Required<Omit<TestSourceOptions, 'duration'>> & { duration: number | undefined };
  private _tracks: TrackInfo[] = [];

  constructor(options: TestSourceOptions = {}) {
    super();
    this._opts = {
      width: options.width ?? 1280,
      height: options.height ?? 720,
      fps: options.fps ?? 30,
      sampleRate: options.sampleRate ?? 48000,
      channels: options.channels ?? 2,
      duration: options.duration,
      video: options.video ?? true,
      audio: options.audio ?? true,
    };
  }


  /** Media duration when bounded, microseconds. */
  get durationUs(): number | undefined {
    return this._opts.duration === undefined ? undefined : Math.round(this._opts.duration * 1e6);
  }

  async prepare(config: PipelineConfig): Promise<readonly TrackInfo[]> {
    const o = this._opts;
    this.live = config.live;
    this._tracks = [
      ...(o.video ? [{ id: TEST_VIDEO_TRACK, kind: 'video' as const, width: o.width, height: o.height, fps: o.fps, splittable: { type: 'test-pattern' as const } }] : []),
      ...(o.audio ? [{ id: TEST_AUDIO_TRACK, kind: 'audio' as const, sampleRate: o.sampleRate, channels: o.channels }] : []),
    ];
    return this._tracks;
  }

  readable(trackId: string): ReadableStream<RawMedia> {
    const track = this._tracks.find((t) => t.id === trackId);
    if (track === undefined) throw new TypeError(`test source has no track "${trackId}"`);
    const o = this._opts;
    let index = 0;
    let make: (i: number) => RawMedia;
    let timestampOf: (i: number) => number;
    let total: number;
    if (track.kind === 'video') {
      const pattern = new TestPattern(o.width, o.height, o.fps);
      timestampOf = (i) => frameTimestamp(i, o.fps);
      make = (i) => pattern.frame(i, timestampOf(i), timestampOf(i + 1) - timestampOf(i));
      total = o.duration === undefined ? Infinity : Math.round(o.duration * o.fps);
    } else {
      const tone = new TestTone(o.sampleRate, o.channels);
      timestampOf = (i) => frameTimestamp(i, tone.buffersPerSecond);
      make = (i) => tone.buffer(i, timestampOf(i));
      total = o.duration === undefined ? Infinity : Math.round(o.duration * tone.buffersPerSecond);
    }
    const end = this.openTrack();
    return new ReadableStream<RawMedia>({
      pull: async (controller) => {
        await this.due(index < total ? timestampOf(index) : undefined);
        if (this.stopping || index >= total) {
          controller.close();
          end();
          return;
        }
        controller.enqueue(make(index++));
      },
      cancel: () => end(),
    }, { highWaterMark: 0 });
  }

  async close(): Promise<void> {
    this.stop();
  }
}
