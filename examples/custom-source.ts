/**
 * A source of your own, run through `createControllerWithSource`: frames drawn by a generator (a
 * gradient that moves, as a canvas would draw it) and a 440 Hz tone, 2 s, to WebM.
 *
 *   node custom-source.js OUT.webm
 */
import { AudioData, VideoFrame, createControllerWithSource, createPipelineConfig, type PipelineConfig, type Source, type TrackInfo } from 'avpipe';

const W = 320;
const H = 180;
const FPS = 30;
const RATE = 48000;
const SECONDS = 2;

/** Frame `i`: an I420 picture whose luma ramps and moves right with time. */
function draw(i: number): VideoFrame {
  const data = new Uint8Array((W * H * 3) / 2).fill(128);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = 16 + ((x + i * 4) % W) * 219 / W;
  return new VideoFrame(data, { format: 'I420', codedWidth: W, codedHeight: H, timestamp: Math.round((i * 1e6) / FPS) });
}

/** 20 ms of the tone from sample `n`. */
function tone(n: number): AudioData {
  const plane = Float32Array.from({ length: RATE / 50 }, (_, k) => 0.3 * Math.sin((2 * Math.PI * 440 * (n + k)) / RATE));
  return new AudioData({ format: 'f32-planar', sampleRate: RATE, numberOfFrames: plane.length, numberOfChannels: 1, timestamp: Math.round((n * 1e6) / RATE), data: [plane] });
}

class GeneratedSource implements Source {
  readonly name = 'generated';
  startedAt: number | undefined;
  endedAt: number | undefined;
  readonly ended: Promise<void>;
  private _ended!: () => void;
  private _open = 2;
  private _stopping = false;

  constructor() {
    this.ended = new Promise((resolve) => (this._ended = resolve));
  }

  get durationUs(): number {
    return SECONDS * 1e6;
  }

  async prepare(_config: PipelineConfig): Promise<readonly TrackInfo[]> {
    return [{ id: 'video', kind: 'video', width: W, height: H, fps: FPS }, { id: 'audio', kind: 'audio', sampleRate: RATE, channels: 1 }];
  }

  /** One stream per track, pulled as fast as the (non-live) pipeline takes it. */
  readable(trackId: string): ReadableStream<VideoFrame | AudioData> {
    let i = 0;
    const count = trackId === 'video' ? SECONDS * FPS : SECONDS * 50;
    return new ReadableStream<VideoFrame | AudioData>({
      pull: (c) => {
        if (i >= count || this._stopping) {
          c.close();
          if (--this._open === 0) {
            this.endedAt = Date.now();
            this._ended();
          }
          return;
        }
        c.enqueue(trackId === 'video' ? draw(i) : tone(i * (RATE / 50)));
        i++;
      },
    }, { highWaterMark: 0 });
  }

  start(): void {
    this.startedAt ??= Date.now();
  }

  stop(): void {
    this._stopping = true;
  }

  async close(): Promise<void> {
    this.stop();
  }
}

const output = process.argv[2] ?? 'generated.webm';
const config = createPipelineConfig({ live: false, encoding: { width: W, height: H, fps: FPS }, outputs: [{ path: output }] });
const result = await createControllerWithSource(config, new GeneratedSource()).start();
console.log(result.status, result.durationMs, result.tracks.map((t) => `${t.kind} ${t.mode}`).join(', '));
process.exitCode = result.status === 'COMPLETE' ? 0 : 1;
