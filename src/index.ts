export { AudioData, type AudioDataInit, type AudioSampleFormat } from './media/audio-data.js';
export type {
  AudioEncoderConfig, AudioEncoderInit, AudioEncoderLike, CodecProvider, CodecState, ImageEncoderLike, VideoEncoderConfig,
  VideoEncoderInit, VideoEncoderLike,
} from './codecs/codec-provider.js';
export {
  EncodedAudioChunk, EncodedChunk, EncodedVideoChunk, type AudioDecoderConfig, type EncodedChunkInit, type EncodedOutput,
  type EncodedChunkMetadata, type EncodedChunkType, type VideoDecoderConfig,
} from './media/encoded-chunk.js';
export type { DecoderStats } from './codecs/decoder-node.js';
export type { AudioDecoderInit, AudioDecoderLike, DecoderLike, VideoDecoderInit, VideoDecoderLike } from './codecs/codec-provider.js';
export type { EncoderStats } from './codecs/encoder-node.js';
export { NodeAvProvider } from './codecs/native/node-av-provider.js';
export { VideoFrame, i420Layout, i420Size, type PlaneLayout, type PlaneView, type VideoFrameInit, type VideoPixelFormat } from './media/video-frame.js';
export {
  AUDIO_CODECS, CONTAINER_CODECS, FILE_CONTAINERS, H264_PROFILES, SPEED_PRESETS, VIDEO_CODECS,
  type AudioCodecName, type FileContainer, type H264Profile, type SpeedPreset, type VideoCodecName,
} from './config/codecs.js';
export {
  allowedCodecs, containerOfPath, fillTemplate, outputKindOfPath, streamProtocolOf,
  type FileOutputInit, type ImageFormat, type ImagesOutputInit, type OutputInit, type OutputSpec, type SegmentFormat,
  type SegmentsOutputInit, type StreamOutputInit, type StreamProtocol,
} from './config/outputs.js';
export { PipelineConfig, createPipelineConfig } from './config/pipeline-config.js';
export {
  type AudioRoute, type CodecMode, type FileSourceInit, type LimitsInit, type PipelineConfigInit, type QueueBoundsInit, type QueueInit, type TestSourceInit,
} from './config/config-init.js';
export { DEFAULT_ENCODING, type EncodingInit, type EncodingOptions } from './config/encoding.js';
export { DEFAULT_QUEUES, type ResolvedQueues } from './pipeline/run-policy.js';
export type { TrackInfo } from './sources/track-info.js';
export { AudioMixer } from './convert/audio-mixer.js';
export { AudioResampler } from './convert/audio-resampler.js';
export { TsFrameScaler, type FrameScaler } from './convert/frame-scaler.js';
export { SincResampler } from './convert/sinc-resampler.js';
export { VideoRate } from './convert/video-rate.js';
export { PRESETS, PRESET_NAMES, isPresetName, type Preset, type PresetName } from './config/presets.js';
export { validateConfig } from './config/validate.js';
export { redactUrl } from './config/redact.js';
export { type Mp4FinalizeReport } from './muxers/mp4-defragment.js';
export { type PlaylistRepairReport } from './muxers/playlist-repair.js';
export { repairRecording, type RepairReport } from './muxers/repair.js';
export { type WebmRepairReport } from './muxers/webm-repair.js';
export { AvpipeError, ConfigError, type AvpipeErrorCode, type AvpipeErrorOptions, type ConfigProblem } from './errors.js';
export { FileMuxer, type FileMuxerOptions, type MuxerTrackStats } from './muxers/file-muxer.js';
export {
  Controller, createController, createControllerWithSource, type ControllerEvents, type ControllerOptions,
} from './pipeline/controller.js';
export type {
  FileOutputResult, OutputResult, PipelineProgress, PipelineResult, PipelineStatus, ResultError,
} from './pipeline/status.js';
export type { SegmentsOutputResult } from './sinks/hls-output.js';
export type { ImagesOutputResult } from './sinks/image-output.js';
export { Segmenter, type Segment } from './muxers/segmenter.js';
export { mediaPlaylist, type PlaylistInit, type PlaylistSegment } from './muxers/playlist.js';
export { Tee, type TeeItemOps, type TeePortInit, type TeePortStats } from './queues/tee.js';
export { Interleaver } from './pipeline/interleaver.js';
export { LocalStorage, type Storage } from './storage/storage.js';
export { Uploader, type UploadOptions, type UploadsResult } from './storage/uploader.js';
export type { StreamOutputResult } from './sinks/stream-stats.js';
export type { TrackResult } from './pipeline/graph.js';
export type { TrackMode } from './pipeline/plan.js';
export { BoundedQueue, type QueueBounds, type QueueMeasure, type QueuePolicy, type QueueStarts, type QueueStats } from './queues/bounded-queue.js';
export { PushQueue, type PushQueueOptions } from './queues/push-queue.js';
export { QueueNode } from './queues/queue-node.js';
export { FileSink, type FileSinkStats } from './sinks/file-sink.js';
export type { PositionalWrite } from './muxers/positional-write.js';
export { FileSource, InputError, type DemuxedPacket, type DemuxedTrack, type FileInput, type InputDemuxer } from './sources/file-source.js';
export type { RawMedia, ResultWarning, Source, SourceMedia } from './sources/source.js';
export { TEST_AUDIO_TRACK, TEST_VIDEO_TRACK, TestSource, type TestSourceOptions } from './sources/test-source.js';
export { US_PER_SECOND, type Microseconds } from './time.js';
export {
  WebRtcSource, type LeavePolicy, type WebRtcSourceOptions, type WebRtcSourceStats, type WebRtcTrackStats,
} from './sources/webrtc/webrtc-source.js';
export { WhipServer, type WhipServerEvents, type WhipServerOptions, type WhipSession } from './server/whip-server.js';
export { loadCodecProvider } from './codecs/load-codec-provider.js';
export { CODEC_PROVIDER_CHOICES, type CodecProviderChoice } from './config/codecs.js';
export { WasmProvider } from './codecs/wasm/wasm-provider.js';
