import type { CodecContext, Frame, SoftwareResampleContext } from 'node-av/lib';
import { AudioData } from '../../media/audio-data.js';
import type { AudioDecoderInit } from '../codec-provider.js';
import type { AudioDecoderConfig } from '../../media/encoded-chunk.js';
import { SampleClock } from '../../time.js';
import { NodeAvDecoder } from './node-av-decoder.js';
import type { NodeAv } from './node-av-loader.js';

/**
 * A WebCodecs-shaped AudioDecoder over FFmpeg (aac, opus, mp3, vorbis, flac, PCM, G.711). Audio comes
 * out as f32-planar at the stream's own rate and channel count; other sample formats go through
 * swresample. Timestamps come from a sample counter anchored at the first packet, so a stream of
 * packets with rounded or missing timestamps still yields gapless, drift-free audio; a packet whose
 * time is more than {@link SampleClock}'s gap past the counter (a live track's mute or lost packets) re-anchors
 * it, so the audio after a gap keeps its place. With `batchSamples`, contiguous frames are decoded
 * into one block of that many samples before it goes out (W4's two 30-minute tracks: ~170k items
 * through the resampler, mixer and queues become ~36k), a block cut short by a gap, a change of rate
 * or channels, or the end.
 */
export class NodeAvAudioDecoder extends NodeAvDecoder<AudioDecoderConfig> {
  private readonly _output: (data: AudioData) => void;
  private _swr: SoftwareResampleContext | undefined;
  private _swrKey = '';
  private _clock = new SampleClock();
  private readonly _batchSamples: number;
  /** The block being filled (batching only). */
  private _block: { planes: Float32Array[]; fill: number; timestamp: number; rate: number } | undefined;

  constructor(av: NodeAv, init: AudioDecoderInit) {
    super(av, 'AudioDecoder', init.error);
    this._output = init.output;
    const batch = init.batchSamples ?? 0;
    this._batchSamples = Number.isFinite(batch) && batch > 0 ? Math.floor(batch) : 0;
  }

  protected override release(): void {
    super.release();
    this._block = undefined;
    this._swr?.free();
    this._swr = undefined;
  }

  protected setup(ctx: CodecContext, config: AudioDecoderConfig): void {
    ctx.sampleRate = config.sampleRate;
    ctx.channelLayout = this.av.lib.avChannelLayoutDefault(config.numberOfChannels);
    this._clock = new SampleClock();
    this._block = undefined;
  }

  protected emit(frame: Frame): void {
    const C = this.av.constants;
    const n = frame.nbSamples;
    const channels = frame.channels;
    const rate = frame.sampleRate;
    const ts = frame.bestEffortTimestamp !== C.AV_NOPTS_VALUE ? frame.bestEffortTimestamp : frame.pts;
    const { timestamp, gap } = this._clock.place(ts === C.AV_NOPTS_VALUE ? undefined : Number(ts), n, rate);
    let block = this._block;
    if (block !== undefined && (gap !== 0 || block.rate !== rate || block.planes.length !== channels || block.fill + n > block.planes[0]!.length)) {
      this._push();
      block = undefined;
    }
    block ??= this._block = { planes: Array.from({ length: channels }, () => new Float32Array(Math.max(n, this._batchSamples))), fill: 0, timestamp, rate };
    const at = block.fill;
    const planes = block.planes.map((p) => p.subarray(at, at + n));
    if (frame.format === C.AV_SAMPLE_FMT_FLTP) {
      const src = frame.data!;
      for (let c = 0; c < channels; c++) planes[c]!.set(new Float32Array(src[c]!.buffer, src[c]!.byteOffset, n));
    } else {
      this._convert(frame, planes);
    }
    block.fill += n;
    if (block.fill >= this._batchSamples) this._push();
  }

  /** The block goes out (one not full as views of what it holds: AAC's 1024-sample frames fill 4096 of 4800). */
  private _push(): void {
    const block = this._block;
    this._block = undefined;
    if (block === undefined || block.fill === 0) return;
    const n = block.fill;
    const data = n === block.planes[0]!.length ? block.planes : block.planes.map((p) => p.subarray(0, n));
    this._output(new AudioData({ format: 'f32-planar', sampleRate: block.rate, numberOfFrames: n, numberOfChannels: data.length, timestamp: block.timestamp, data }));
  }

  /** What the block holds goes out when the stream drains. */
  protected override drained(): void {
    this._push();
  }

  private _convert(frame: Frame, planes: Float32Array[]): void {
    const { SoftwareResampleContext, FFmpegError } = this.av.lib;
    const C = this.av.constants;
    const key = `${frame.format}:${frame.sampleRate}:${frame.channels}`;
    if (this._swr === undefined || this._swrKey !== key) {
      this._swr?.free();
      const swr = new SoftwareResampleContext();
      FFmpegError.throwIfError(swr.allocSetOpts2(frame.channelLayout, C.AV_SAMPLE_FMT_FLTP, frame.sampleRate, frame.channelLayout, frame.format as never, frame.sampleRate), 'configure swresample');
      FFmpegError.throwIfError(swr.init(), 'init swresample');
      this._swr = swr;
      this._swrKey = key;
    }
    const out = planes.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength));
    const got = this._swr.convertSync(out, frame.nbSamples, frame.extendedData ?? frame.data, frame.nbSamples);
    FFmpegError.throwIfError(got, 'convert sample format');
  }
}
