/*
 * avpipe's public API: what a user of the library calls or types. Internals (queues, tees, muxers,
 * sinks, converters) are imported from their own modules by avpipe itself and by its tests; their
 * doc comments carry the internal tag, so the published types leave them out (tsconfig.build.json's
 * stripInternal, which drops any declaration whose leading comment holds that tag: never write it
 * in a comment above an export here). test/public-api.test.ts holds the list of runtime exports.
 */

// Configuration: the init a user writes, the config it becomes, and the names and presets it uses.
export { PipelineConfig, createPipelineConfig } from './config/pipeline-config.js';
export { validateConfig } from './config/validate.js';
export type {
  AudioRoute, CodecMode, FileSourceInit, LimitsInit, PipelineConfigInit, QueueBoundsInit, QueueInit, TestSourceInit,
} from './config/config-init.js';
export type { EncodingInit, EncodingOptions, Rendition, RenditionInit } from './config/encoding.js';
export { PRESETS, PRESET_NAMES, isPresetName, type Preset, type PresetName } from './config/presets.js';
export {
  AUDIO_CODECS, CODEC_PROVIDER_CHOICES, CONTAINER_CODECS, FILE_CONTAINERS, H264_PROFILES, SPEED_PRESETS, VIDEO_CODECS,
  type AudioCodecName, type CodecProviderChoice, type FileContainer, type H264Profile, type SpeedPreset, type VideoCodecName,
} from './config/codecs.js';
export {
  allowedCodecs, containerOfPath, outputKindOfPath, streamProtocolOf,
  type FileOutputInit, type ImageFormat, type ImagesOutputInit, type OutputInit, type OutputSpec, type SegmentFormat,
  type SegmentsOutputInit, type StreamOutputInit, type StreamProtocol,
  type FileOutputSpec, type ImagesOutputSpec, type SegmentsOutputSpec, type StreamOutputSpec,
} from './config/outputs.js';
export { redactUrl } from './config/redact.js';

// Running a pipeline: the controller, its events, and what a run returns.
export {
  Controller, createController, createControllerWithSource, type ControllerEvents, type ControllerOptions,
} from './pipeline/controller.js';
export type {
  FileOutputResult, OutputResult, PipelineProgress, PipelineResult, PipelineStatus, ResultError,
} from './pipeline/status.js';
export type { RenditionPlaylistResult, SegmentsOutputResult } from './sinks/hls-output.js';
export type { ImagesOutputResult } from './sinks/image-output.js';
export type { StreamOutputResult } from './sinks/stream-stats.js';
export type { MuxerTrackStats } from './muxers/file-muxer.js';
export type { TrackResult } from './pipeline/pipeline-run.js';
export type { DriftStats } from './convert/drift-corrector.js';
export type { ChunkResult } from './pipeline/chunk-pool.js';
export type { PauseRecord } from './pipeline/pause-cuts.js';
export type { TrackMode } from './pipeline/plan.js';
export type { QueuePolicy, QueueStats } from './queues/bounded-queue.js';
export type { TeePortStats } from './queues/tee.js';
export type { DecoderStats } from './codecs/decoder-node.js';
export type { EncoderStats } from './codecs/encoder-node.js';

// Sources: the built-in ones, and the interface and media types a custom source is written with.
export { WARNING_CODES, type RawMedia, type ResultWarning, type Source, type SourceMedia } from './sources/source.js';
export type { EncodedTrack, TrackInfo } from './sources/track-info.js';
export { TestSource, type TestSourceOptions } from './sources/test-source.js';
export { FileSource, InputError, type FileInput } from './sources/file-source.js';
export {
  WebRtcSource, type LeavePolicy, type WebRtcSourceOptions, type WebRtcSourceStats, type WebRtcTrackStats,
} from './sources/webrtc/webrtc-source.js';
export type { AssemblerStats } from './sources/rtp/frame-assembler.js';
export type { JitterStats } from './sources/rtp/jitter-buffer.js';
export type { LipSyncTrackStats } from './sources/rtp/lip-sync.js';
export { AudioData, type AudioDataInit, type AudioSampleFormat } from './media/audio-data.js';
export { VideoFrame, type PlaneLayout, type PlaneView, type VideoFrameInit, type VideoPixelFormat } from './media/video-frame.js';
export {
  EncodedAudioChunk, EncodedChunk, EncodedVideoChunk, type AudioDecoderConfig, type EncodedChunkInit,
  type EncodedChunkMetadata, type EncodedChunkType, type VideoDecoderConfig,
} from './media/encoded-chunk.js';
export type { Microseconds } from './time.js';

// The WHIP server: WebRTC publishers in, one live pipeline per session.
export { WhipServer, type WhipServerEvents, type WhipServerOptions, type WhipSession } from './server/whip-server.js';
export type { SessionAdmission } from './server/whip-sessions.js';

// Codec providers: the native one, the WebAssembly one, the choice between them, and the seam itself.
export { NodeAvProvider } from './codecs/native/node-av-provider.js';
export { WasmProvider } from './codecs/wasm/wasm-provider.js';
export { loadCodecProvider } from './codecs/load-codec-provider.js';
export type {
  AudioDecoderInit, AudioDecoderLike, AudioEncoderConfig, AudioEncoderInit, AudioEncoderLike, CodecProvider, CodecState,
  DecoderLike, ImageEncoderLike, VideoDecoderInit, VideoDecoderLike, VideoEncoderConfig, VideoEncoderInit, VideoEncoderLike,
} from './codecs/codec-provider.js';
export { AudioResampler } from './convert/audio-resampler.js';
export type { FrameScaler } from './convert/frame-scaler.js';

// Errors.
export { AvpipeError, ConfigError, ERROR_CODES, type AvpipeErrorCode, type AvpipeErrorOptions, type ConfigProblem } from './errors.js';

// Storage: where finished files are uploaded.
export { LocalStorage, type Storage } from './storage/storage.js';
export { S3Storage, type S3StorageOptions } from './storage/s3-storage.js';
export { BackupStorage } from './storage/backup-storage.js';
export type { StorageSpec } from './storage/storage-spec.js';
export type { UploadOptions, UploadsResult } from './storage/uploader.js';

// Repair: finishing what a killed recording left.
export { repairRecording, type RepairReport } from './muxers/repair.js';
export type { Mp4FinalizeReport } from './muxers/mp4-defragment.js';
export type { WebmRepairReport } from './muxers/webm-repair.js';
export type { PlaylistRepairReport } from './muxers/playlist-repair.js';
