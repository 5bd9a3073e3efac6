import type { PipelineConfig, Source, TrackInfo } from '../../src/index.js';
import { AudioData } from '../../src/media/audio-data.js';
import { VideoFrame } from '../../src/media/video-frame.js';
import { LipSync, type LipSyncTrackStats } from '../../src/sources/rtp/lip-sync.js';
import { SourceBase } from '../../src/sources/source-base.js';

/** Options of a {@link DriftingPublisher}. */
export interface DriftingPublisherOptions {
  /** Real seconds of media. */
  seconds: number;
  /** How fast the publisher's sound card runs against its wall clock (parts per million). */
  audioPpm: number;
  /** Whether the audio track is declared `clockDrift` (what a WebRTC source does). */
  clockDrift: boolean;
}

const W = 160;
const H = 96;
const NTP0 = 3_900_000_000;

/** One thing that reaches the receiver: a frame or a sender report, at its arrival time. */
interface Arrival {
  at: number;
  kind: 'video' | 'audio' | 'video-sr' | 'audio-sr';
  index: number;
}

/**
 * A WebRTC publisher simulated in media time, so that minutes of it run in seconds: video at 30 fps
 * from a true clock (a white frame at every whole second), audio in 20 ms packets whose samples come
 * from a sound card `audioPpm` fast (a 1 kHz beep for the first 100 ms of every real second, sampled
 * at the card's rate, RTP time counting its samples), true RTCP sender reports every 5 s per
 * track, a wire delay of 30 +- 10 ms. What the receiver gets goes through avpipe's own lip sync (the
 * WebRTC source's core) with those arrival times, and comes out raw: decoded as a WebRTC source's
 * would be after its decoders.
 */
export class DriftingPublisher extends SourceBase implements Source {
  readonly name = 'drifting-publisher';
  private readonly _o: DriftingPublisherOptions;
  private readonly _sync = new LipSync<number>(4000);
  private readonly _v: number;
  private readonly _a: number;
  private readonly _audioHz: number;
  private readonly _arrivals: Arrival[] = [];
  private _next = 0;
  private readonly _queues = { video: [] as VideoFrame[], audio: [] as AudioData[] };

  constructor(options: DriftingPublisherOptions) {
    super();
    this._o = options;
    this._sync.expectTracks(2);
    this._v = this._sync.addTrack(90000);
    this._a = this._sync.addTrack(48000);
    this._audioHz = 48000 * (1 + options.audioPpm * 1e-6);
    const s = options.seconds;
    const delay = (i: number): number => 30 + 10 * Math.sin(i * 12.9898);
    for (let i = 0; i < s * 30; i++) this._arrivals.push({ at: (i / 30) * 1000 + delay(i), kind: 'video', index: i });
    for (let k = 0; (k * 960 + 960) / this._audioHz <= s; k++) this._arrivals.push({ at: ((k * 960) / this._audioHz) * 1000 + delay(k + 0.5), kind: 'audio', index: k });
    // Reports every 5 s, as libwebrtc sends them for audio.
    for (let t = 0; t < s; t += 5) {
      this._arrivals.push({ at: (t + 0.5) * 1000 + 30, kind: 'video-sr', index: t }, { at: (t + 0.5) * 1000 + 35, kind: 'audio-sr', index: t });
    }
    this._arrivals.sort((x, y) => x.at - y.at);
  }

  get durationUs(): number {
    return this._o.seconds * 1e6;
  }

  /** Lip sync's counters per track (video, audio). */
  sync(): LipSyncTrackStats[] {
    return this._sync.toJSON();
  }

  async prepare(config: PipelineConfig): Promise<readonly TrackInfo[]> {
    this.live = config.live;
    return [
      { id: 'video', kind: 'video', width: W, height: H, fps: 30 },
      { id: 'audio', kind: 'audio', sampleRate: 48000, channels: 2, ...(this._o.clockDrift ? { clockDrift: true } : {}) },
    ];
  }

  readable(trackId: string): ReadableStream<VideoFrame | AudioData> {
    const kind = trackId === 'video' ? 'video' : 'audio';
    const queue: (VideoFrame | AudioData)[] = this._queues[kind];
    const end = this.openTrack();
    return new ReadableStream<VideoFrame | AudioData>({
      pull: async (c) => {
        await this.due(undefined);
        while (queue.length === 0 && this._next <= this._arrivals.length && !this.stopping) this._step();
        const item = queue.shift();
        if (item === undefined) {
          c.close();
          end();
        } else c.enqueue(item);
      },
      cancel: () => end(),
    }, { highWaterMark: 0 });
  }

  async close(): Promise<void> {
    this.stop();
  }

  /** The next arrival (the end once all arrived: what lip sync still holds). */
  private _step(): void {
    const a = this._arrivals[this._next++];
    const placed = a === undefined ? this._sync.release(Number.MAX_SAFE_INTEGER)
      : a.kind === 'video' ? this._sync.push(this._v, a.index, (a.index * 3000) >>> 0, a.at)
        : a.kind === 'audio' ? this._sync.push(this._a, a.index, (a.index * 960) >>> 0, a.at)
          : this._sync.senderReport(a.kind === 'video-sr' ? this._v : this._a, this._report(a.kind === 'video-sr' ? 90000 : this._audioHz, a.index + 0.5), a.at);
    for (const p of placed) {
      if (p.track === this._v) this._queues.video.push(this._frame(p.frame, p.timestamp));
      else this._queues.audio.push(this._packet(p.frame, p.timestamp));
    }
  }

  /** A true sender report at real time `t` for a track whose RTP clock runs at `hz`. */
  private _report(hz: number, t: number): { ntpSeconds: number; ntpFraction: number; rtpTimestamp: number } {
    return { ntpSeconds: NTP0 + Math.floor(t), ntpFraction: Math.round((t % 1) * 2 ** 32), rtpTimestamp: Math.round(t * hz) >>> 0 };
  }

  private _frame(i: number, timestamp: number): VideoFrame {
    const data = new Uint8Array((W * H * 3) / 2).fill(128);
    data.fill(i % 30 === 0 ? 235 : 16, 0, W * H);
    return new VideoFrame(data, { format: 'I420', codedWidth: W, codedHeight: H, timestamp, duration: 33_333 });
  }

  private _packet(k: number, timestamp: number): AudioData {
    const plane = new Float32Array(960);
    for (let i = 0; i < 960; i++) {
      const t = (k * 960 + i) / this._audioHz;
      plane[i] = t % 1 < 0.1 ? 0.5 * Math.sin(2 * Math.PI * 1000 * t) : 0;
    }
    return new AudioData({ format: 'f32-planar', sampleRate: 48000, numberOfFrames: 960, numberOfChannels: 2, timestamp, data: [plane, plane] });
  }
}
