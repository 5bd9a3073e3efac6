import type { CodecProvider } from '../codecs/codec-provider.js';
import type { OutputSpec } from '../config/outputs.js';
import type { EncodingOptions } from '../config/encoding.js';
import type { PipelineConfig } from '../config/pipeline-config.js';
import { AvpipeError } from '../errors.js';
import { FileOutput, type FileOutputResult } from '../sinks/file-output.js';
import { ImageOutput, imageSize, type ImagesOutputResult } from '../sinks/image-output.js';
import { HlsOutput, type SegmentsOutputResult } from '../sinks/hls-output.js';
import { HlsLadderOutput } from '../sinks/hls-ladder-output.js';
import type { FileDone, OutputNode } from '../sinks/output-node.js';
import { RtmpOutput } from '../sinks/rtmp-output.js';
import type { StreamOutputResult } from '../sinks/stream-stats.js';
import type { MuxerTracks } from './plan.js';
import type { FileWritePolicy } from './run-policy.js';

/** Any output's entry in a result; `type` tells which. */
export type OutputResult = FileOutputResult | SegmentsOutputResult | ImagesOutputResult | StreamOutputResult;

/** What outputs are built from: the config, the encoded tracks they will get, and the graph's hooks. */
export interface OutputContext {
  config: PipelineConfig;
  /** The encoding the run uses (the plan's). */
  encoding: Readonly<EncodingOptions>;
  /** How files write (the run policy's). */
  fileWrites: FileWritePolicy;
  /** The codecs of the encoded tracks (absent kinds are not encoded); a copied video keeps its own timestamps. */
  muxerTracks: Readonly<MuxerTracks>;
  /** Sees each output's size after a write (a size limit watches it). */
  onSize: (size: number) => void;
  provider: () => Promise<CodecProvider>;
  /** Told of every finished file (for upload): its path, its key in storage, its size. */
  onFile?: FileDone;
}


/** Builds the node for one output spec. */
export async function buildOutput(spec: OutputSpec, ctx: OutputContext): Promise<OutputNode<unknown, OutputResult>> {
  const { config, encoding, fileWrites: w, muxerTracks: t } = ctx;
  switch (spec.kind) {
    case 'file':
      return new FileOutput(spec, {
        // A copied track keeps its own timestamps (variable rate included): no snapping to a rate.
        ...(t.video !== undefined ? { video: { codec: t.video, ...(t.videoCopied === true ? {} : { fps: encoding.fps }) } } : {}),
        ...(t.audio !== undefined ? { audio: { codec: t.audio } } : {}),
        // Crash-safe MP4 and WebM are written in fragments / clusters (each goes to the file whole, as a
        // few writes), so a killed recorder leaves a file that plays; finalizing makes it a regular file.
        // Otherwise a size limit watches the bytes as they are written, so it needs them written as
        // they come, and writes are gathered into chunks.
        ...(w.writeAside ? { writeAside: true } : {}),
        ...(w.fragmentS !== undefined && (spec.container === 'mp4' || spec.container === 'webm') ? { fragmented: w.fragmentS }
          : config.limits.maxSizeBytes === undefined ? { chunkSize: w.chunkBytes } : {}),
      }, ctx.onSize, ctx.onFile) as OutputNode<unknown, OutputResult>;
    case 'segments':
      // A ladder of encoded renditions: a master playlist over one media playlist each.
      if (encoding.renditions.length > 1 && t.video !== undefined && t.videoCopied !== true) {
        return new HlsLadderOutput(spec, encoding.renditions, { video: t.video, ...(t.audio === undefined ? {} : { audio: t.audio }) }, encoding.fps, ctx.onFile) as OutputNode<unknown, OutputResult>;
      }
      return new HlsOutput(spec, { ...(t.video === undefined ? {} : { video: t.video }), ...(t.audio === undefined ? {} : { audio: t.audio }) }, ctx.onFile) as OutputNode<unknown, OutputResult>;
    case 'images': {
      const provider = await ctx.provider();
      const size = imageSize(spec, encoding);
      // A provider that makes no images gets the WebAssembly encoder, which runs anywhere.
      const encoder = provider.createImageEncoder?.(spec.format, size.width, size.height)
        ?? new (await import('../codecs/wasm/wasm-image-encoder.js')).WasmImageEncoder(spec.format, size.width, size.height);
      return new ImageOutput(encoder, spec, ctx.onFile) as OutputNode<unknown, OutputResult>;
    }
    case 'stream': {
      if (spec.protocol === 'websocket') {
        // ws is loaded only by runs that use it (start-up is paid by every command).
        const { WebSocketOutput } = await import('../sinks/websocket-output.js');
        return new WebSocketOutput(spec) as OutputNode<unknown, OutputResult>;
      }
      if (spec.protocol !== 'rtmp') throw new AvpipeError('CONFIG_INVALID', `${spec.protocol} outputs are not implemented`);
      const e = encoding;
      return new RtmpOutput(spec, {
        ...(t.video === undefined ? {} : { width: e.width, height: e.height, fps: e.fps, videoBitrateKbps: e.videoBitrateKbps }),
        ...(t.audio === undefined ? {} : { sampleRate: e.sampleRate, channels: e.channels, audioBitrateKbps: e.audioBitrateKbps }),
      }) as OutputNode<unknown, OutputResult>;
    }
  }
}
