import type { AudioRoute } from '../config/config-init.js';
import { AudioData } from '../media/audio-data.js';
import type { Microseconds } from '../time.js';


interface Pending {
  /** First sample index on the session timeline. */
  start: number;
  planes: readonly Float32Array[];
}

interface MixInput {
  route: AudioRoute;
  chunks: Pending[];
  /** Everything before this sample index is known (received, or silence before a later chunk). */
  knownUntil: number;
  ended: boolean;
}

/**
 * The pure core of the audio mixer: inputs (already at the mix's rate and channel count) are placed on
 * one session timeline by their timestamps, summed in blocks, and clamped to [-1, 1] (floats: no
 * integer wrap-around). A block is mixed once every input is known past its end or has ended, so an
 * input that starts late, has holes or ends early is silence there and never stalls the mix (egress's
 * non-live mixer blocks forever in that case). Output runs from 0 to the latest end of any input, or
 * the end {@link extendTo} gives (moved on as the session gets there).
 * @internal
 */
export class AudioMixer {
  readonly sampleRate: number;
  readonly channels: number;
  readonly blockFrames: number;
  private readonly _inputs: MixInput[];
  private _position = 0;
  private _endSample: number | undefined;
  /** False while the end may still move on ({@link extendTo}): the mix is not done at it. */
  private _endFinal = true;
  /** Blocks mixed, and samples that hit the clamp. */
  readonly counters = { blocks: 0, clipped: 0 };

  constructor(sampleRate: number, channels: number, routes: readonly AudioRoute[]) {
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.blockFrames = Math.round(sampleRate / 50);
    this._inputs = routes.map((route) => ({ route, chunks: [], knownUntil: 0, ended: false }));
  }

  /** Sample index of the next block to mix. */
  get position(): number {
    return this._position;
  }

  /** How far input `i` is known ahead of the mix, in samples (for backpressure). */
  lead(i: number): number {
    return this._inputs[i]!.knownUntil - this._position;
  }

  /** Adds audio to input `i`. */
  push(i: number, data: AudioData): void {
    const input = this._inputs[i]!;
    const start = Math.round((data.timestamp * this.sampleRate) / 1e6);
    // Views, not copies: an AudioData's planes stay valid after close() (it only drops its references).
    const planes = data.planes().map((p) => p.subarray(0, data.numberOfFrames));
    input.chunks.push({ start, planes });
    input.knownUntil = Math.max(input.knownUntil, start + data.numberOfFrames);
    data.close();
  }

  /** Marks input `i` finished: silence from here on. */
  end(i: number): void {
    this._inputs[i]!.ended = true;
  }

  /** True once every input has ended (the rest of the mix is silence up to the end). */
  get inputsEnded(): boolean {
    return this._inputs.every((x) => x.ended);
  }

  /**
   * Sets where the mix ends; `final: false` when it may move on (silence made only as far as the
   * session has really got, never up to a length a header declares).
   */
  extendTo(endUs: Microseconds, final: boolean): void {
    this._endSample = Math.round((endUs * this.sampleRate) / 1e6);
    this._endFinal = final;
  }

  /** True when every input has ended and everything was mixed. */
  get done(): boolean {
    return this.inputsEnded && this._endFinal && this._position >= this._finalSample();
  }

  /** Mixes every block that is ready. */
  pull(): AudioData[] {
    const out: AudioData[] = [];
    for (;;) {
      const end = this._position + this.blockFrames;
      const allEnded = this._inputs.every((x) => x.ended);
      const ready = this._inputs.every((x) => x.ended || x.knownUntil >= end);
      if (!ready) break;
      if (allEnded && this._position >= this._finalSample()) break;
      out.push(this._mixBlock());
    }
    return out;
  }

  private _finalSample(): number {
    const latest = Math.max(0, ...this._inputs.map((x) => x.knownUntil));
    return Math.max(latest, this._endSample ?? 0);
  }

  private _mixBlock(): AudioData {
    const n = this.blockFrames;
    const from = this._position;
    const to = from + n;
    const mix = Array.from({ length: this.channels }, () => new Float32Array(n));
    for (const input of this._inputs) {
      for (const c of input.chunks) {
        const len = c.planes[0]?.length ?? 0;
        const a = Math.max(from, c.start);
        const b = Math.min(to, c.start + len);
        if (a >= b) continue;
        addRouted(mix, c.planes, input.route, a - from, a - c.start, b - a);
      }
      // Chunks wholly before the next block are done with.
      input.chunks = input.chunks.filter((c) => c.start + (c.planes[0]?.length ?? 0) > to);
    }
    for (const p of mix) {
      for (let i = 0; i < n; i++) {
        const v = p[i]!;
        if (v > 1) { p[i] = 1; this.counters.clipped++; } else if (v < -1) { p[i] = -1; this.counters.clipped++; }
      }
    }
    this._position = to;
    this.counters.blocks++;
    return new AudioData({
      format: 'f32-planar', sampleRate: this.sampleRate, numberOfFrames: n, numberOfChannels: this.channels,
      timestamp: Math.round((from * 1e6) / this.sampleRate), data: mix,
    });
  }
}

/** Adds `len` samples of `src` (from `srcAt`) into `mix` (at `at`), following the route. */
function addRouted(mix: Float32Array[], src: readonly Float32Array[], route: AudioRoute, at: number, srcAt: number, len: number): void {
  if (route === 'both' || mix.length === 1) {
    for (let c = 0; c < mix.length; c++) {
      const m = mix[c]!;
      const s = src[Math.min(c, src.length - 1)]!;
      for (let i = 0; i < len; i++) m[at + i]! += s[srcAt + i]!;
    }
    return;
  }
  // One side only: the track's channels folded to mono, onto the left or right channel.
  const m = mix[route === 'left' ? 0 : 1]!;
  const k = 1 / src.length;
  for (const s of src) for (let i = 0; i < len; i++) m[at + i]! += s[srcAt + i]! * k;
}
