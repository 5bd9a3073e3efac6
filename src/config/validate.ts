import { CODEC_PROVIDER_CHOICES } from './codecs.js';
import { dirname } from 'node:path';
import type { ConfigProblem } from '../errors.js';
import {
  AUDIO_CODECS, CONTAINER_CODECS, H264_PROFILES, SPEED_PRESETS, VIDEO_CODECS, type AudioCodecName, type FileContainer, type VideoCodecName,
} from './codecs.js';
import {
  allowedCodecs, codecsFor, containerOfPath, outputName, imageFormatOfPath, isNumberTemplate, outputKindOf, resolveOutput, streamProtocolOf,
  type ImagesOutputInit, type OutputInit, type OutputSpec, type SegmentsOutputInit,
} from './outputs.js';
import type { EncodingOptions } from './encoding.js';
import type { PipelineConfigInit } from './config-init.js';
import { DEFAULT_LIVE, MAX_PARALLEL } from './config-init.js';
import { resolveEncoding } from './encoding.js';
import { pathProblems } from './paths.js';
import { redactUrl } from './redact.js';
import { storageProblems } from '../storage/storage-spec.js';
import { isPresetName } from './presets.js';

/** The sample rates Opus takes. */
export const OPUS_RATES = [8000, 12000, 16000, 24000, 48000];
const AAC_RATES = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000];

/**
 * Every problem in `init`, each naming its field. Empty means valid. Runs before anything starts,
 * so a rejected config never creates a file.
 */
export function validateConfig(init: PipelineConfigInit): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const bad = (field: string, message: string): void => {
    problems.push({ field, message });
  };

  if (init.live !== undefined && typeof init.live !== 'boolean') bad('live', 'must be a boolean');
  const live = init.live ?? DEFAULT_LIVE;
  if (init.codecProvider !== undefined && !CODEC_PROVIDER_CHOICES.includes(init.codecProvider)) {
    bad('codecProvider', `must be one of ${CODEC_PROVIDER_CHOICES.join(', ')}, got "${String(init.codecProvider)}"`);
  }

  const enc = init.encoding ?? {};
  if (enc.preset !== undefined && !isPresetName(enc.preset)) bad('encoding.preset', `unknown preset "${String(enc.preset)}"`);
  const specs = resolvableOutputs(init.outputs ?? []);
  const { preset: _unknown, ...withoutPreset } = enc;
  const e = resolveEncoding(enc.preset !== undefined && !isPresetName(enc.preset) ? withoutPreset : enc, allowedCodecs(specs));
  const allowed = allowedCodecs(specs);
  // Set when the outputs cannot share one encode: the codec problems that follow from it are not repeated.
  let noFit = false;
  for (const kind of ['video', 'audio'] as const) {
    const takers = specs.filter((o) => (codecsFor(o)?.[kind].length ?? 0) > 0);
    if (allowed !== undefined && allowed[kind].length === 0 && takers.length > 0 && enc[`${kind}Codec`] === undefined) {
      noFit = true;
      bad('outputs', `no ${kind} codec fits every output (one encode feeds them all): ${specs.filter((o) => codecsFor(o) !== undefined).map((o) => `${outputName(o)} takes ${codecsFor(o)![kind].join(', ') || 'none'}`).join('; ')}`);
    }
  }

  problems.push(...encodingProblems(e));
  if (e.videoCodec === null && e.audioCodec === null && !noFit) bad('encoding', 'a pipeline needs at least one of videoCodec and audioCodec');
  if (!Array.isArray(init.outputs) || init.outputs.length === 0) bad('outputs', 'at least one output is required');
  const counts = { file: 0, segments: 0, images: 0, stream: 0 };
  (init.outputs ?? []).forEach((out, i) => checkOutput(out, `outputs[${i}]`, live, e, bad, counts));
  if (counts.file > 1) bad('outputs', `at most one file output, got ${counts.file}`);
  (init.outputs ?? []).forEach((out, i) => {
    if (e.renditions.length > 1 && 'playlist' in out && out.livePlaylist !== undefined) bad(`outputs[${i}].livePlaylist`, 'a live (sliding window) playlist is not made for a ladder of renditions yet');
    if (e.renditions.length > 1 && 'playlist' in out && out.segmentTemplate !== undefined) bad(`outputs[${i}].segmentTemplate`, 'a ladder names its segments itself (<playlist>_<rendition>_%05d)');
    const r = (out as { rendition?: unknown }).rendition;
    if (r !== undefined && outputKindOf(out) !== 'file') bad(`outputs[${i}].rendition`, 'only a file output takes one rendition (HLS takes them all, a stream the first)');
    else if (r !== undefined && !e.renditions.some((x) => x.name === r)) bad(`outputs[${i}].rendition`, `names no rendition of encoding.renditions (${e.renditions.map((x) => x.name).join(', ') || 'none'}), got ${JSON.stringify(r)}`);
  });
  if (counts.segments > 1) bad('outputs', `at most one segments (HLS) output, got ${counts.segments}`);
  if (counts.stream > 1) bad('outputs', `at most one stream output, got ${counts.stream}`);
  if (counts.images > 0 && e.videoCodec === null && !noFit) bad('outputs', 'an images output needs video (videoCodec is null)');

  for (const [k, v] of Object.entries(init.queues ?? {}) as [string, unknown][]) {
    const items = (x: unknown, field: string): void => {
      if (x !== undefined && !(Number.isInteger(x) && (x as number) >= 1)) bad(field, `must be an integer >= 1, got ${String(x)}`);
    };
    if (v === undefined || typeof v === 'number' || k === 'encoder') items(v, `queues.${k}`);
    else if (typeof v !== 'object' || v === null) bad(`queues.${k}`, `must be an item count or { seconds, items, bytes }, got ${String(v)}`);
    else {
      const b = v as Record<string, unknown>;
      items(b['items'], `queues.${k}.items`);
      for (const f of ['seconds', 'bytes'] as const) {
        const x = b[f];
        if (x !== undefined && !(typeof x === 'number' && Number.isFinite(x) && x > 0)) bad(`queues.${k}.${f}`, `must be a positive number, got ${String(x)}`);
      }
      const unknown = Object.keys(b).filter((f) => !['seconds', 'items', 'bytes'].includes(f));
      if (unknown.length > 0) bad(`queues.${k}`, `unknown field ${unknown.join(', ')} (seconds, items, bytes)`);
    }
  }
  const st = init.storage;
  if (st !== undefined) {
    for (const m of storageProblems(st.storage)) bad('storage.storage', m);
    if (st.backup !== undefined) for (const m of storageProblems(st.backup)) bad('storage.backup', m);
    if (st.concurrency !== undefined && !(Number.isInteger(st.concurrency) && st.concurrency >= 1)) bad('storage.concurrency', `must be an integer >= 1, got ${String(st.concurrency)}`);
    if (st.retries !== undefined && !(Number.isInteger(st.retries) && st.retries >= 0)) bad('storage.retries', `must be an integer >= 0, got ${String(st.retries)}`);
  }
  const lim = init.limits ?? {};
  if (lim.maxDuration !== undefined && !(lim.maxDuration > 0)) bad('limits.maxDuration', `must be positive seconds, got ${lim.maxDuration}`);
  if (lim.maxSize !== undefined && !(lim.maxSize > 0)) bad('limits.maxSize', `must be positive bytes, got ${lim.maxSize}`);
  if (lim.maxPixels !== undefined && !(Number.isInteger(lim.maxPixels) && lim.maxPixels > 0)) bad('limits.maxPixels', `must be a positive whole number of pixels, got ${lim.maxPixels}`);
  if (lim.maxGap !== undefined && !(lim.maxGap > 0)) bad('limits.maxGap', `must be positive seconds, got ${lim.maxGap}`);
  const src = init.source;
  if (src?.type === 'test') {
    const d = src.duration;
    if (d !== undefined && !(typeof d === 'number' && d > 0 && Number.isFinite(d))) bad('source.duration', `must be positive seconds, got ${String(d)}`);
  } else if (src?.type === 'file') {
    if (!Array.isArray(src.inputs) || src.inputs.length === 0) bad('source.inputs', 'at least one input file is required');
    (src.inputs ?? []).forEach((input, i) => {
      if (typeof input.path !== 'string' || input.path === '') bad(`source.inputs[${i}].path`, 'must be a non-empty path');
      if (input.offset !== undefined && !(Number.isFinite(input.offset) && input.offset >= 0)) bad(`source.inputs[${i}].offset`, `must be seconds >= 0, got ${String(input.offset)}`);
      if (input.route !== undefined && !['both', 'left', 'right'].includes(input.route)) bad(`source.inputs[${i}].route`, `must be both, left or right, got "${String(input.route)}"`);
      if (input.fps !== undefined && !(Number.isFinite(input.fps) && input.fps > 0)) bad(`source.inputs[${i}].fps`, `must be a positive number, got ${String(input.fps)}`);
      for (const m of spanProblems(input.start, input.end)) bad(`source.inputs[${i}].${m.field}`, m.message);
    });
    for (const m of spanProblems(src.start, src.end)) bad(`source.${m.field}`, m.message);
  } else if (src !== undefined) {
    bad('source.type', `unknown source type "${String((src as { type: unknown }).type)}" (test, file)`);
  }
  if (init.codecMode !== undefined && !['auto', 'copy', 'transcode'].includes(init.codecMode)) bad('codecMode', `must be auto, copy or transcode, got "${String(init.codecMode)}"`);
  const p = init.parallel;
  if (p !== undefined && p !== 'auto' && !(Number.isInteger(p) && p >= 1 && p <= MAX_PARALLEL)) bad('parallel', `must be auto or a whole number from 1 to ${MAX_PARALLEL}, got ${JSON.stringify(p)}`);
  else if (typeof p === 'number' && p > 1 && (init.live ?? DEFAULT_LIVE)) bad('parallel', 'a live run is never split (its media comes at 1x): set live: false, or parallel: 1');
  problems.push(...pathProblems(init));
  return problems;
}

/** The outputs whose kind can be worked out, resolved (for codec defaults; the rest are reported by checkOutput). */
function resolvableOutputs(outputs: readonly OutputInit[]): OutputSpec[] {
  const specs: OutputSpec[] = [];
  for (const out of outputs) {
    try {
      if ('url' in out && streamProtocolOf(out.url) === undefined) continue;
      if ('path' in out && outputKindOf(out) === 'file' && (out.container ?? containerOfPath(out.path)) === undefined) continue;
      if ('images' in out && imageFormatOfPath(out.images) === undefined) continue;
      specs.push(resolveOutput(out));
    } catch {
      // reported by checkOutput
    }
  }
  return specs;
}

/** Checks one output init, counting its kind. */
function checkOutput(
  out: OutputInit, at: string, live: boolean, e: EncodingOptions,
  bad: (field: string, message: string) => void, counts: Record<OutputSpec['kind'], number>,
): void {
  if (typeof out !== 'object' || out === null) { bad(at, 'must be an object with path, playlist, images or url'); return; }
  if ('url' in out) {
    const protocol = streamProtocolOf(out.url);
    if (protocol !== undefined) counts.stream++;
    const problem = streamUrlProblem(out.url, live, e);
    if (problem !== undefined) bad(`${at}.url`, problem);
    else checkCodecs(`${protocol!} stream ${out.url}`, codecsFor({ kind: 'stream', url: out.url, protocol: protocol! }), e, bad);
    return;
  }
  const kind = outputKindOf(out);
  counts[kind]++;
  if (kind === 'segments') {
    const s: SegmentsOutputInit = 'playlist' in out ? out : { playlist: (out as { path: string }).path };
    const field = 'playlist' in out ? `${at}.playlist` : `${at}.path`;
    if (typeof s.playlist !== 'string' || !/\.m3u8$/i.test(s.playlist)) { bad(field, `must be a path ending in .m3u8, got "${String(s.playlist)}"`); return; }
    if (s.segmentDuration !== undefined && !(Number.isFinite(s.segmentDuration) && s.segmentDuration >= 0.5)) bad(`${at}.segmentDuration`, `must be at least 0.5 seconds, got ${String(s.segmentDuration)}`);
    if (s.segmentFormat !== undefined && !['ts', 'fmp4'].includes(s.segmentFormat)) bad(`${at}.segmentFormat`, `must be ts or fmp4, got "${String(s.segmentFormat)}"`);
    if (s.segmentTemplate !== undefined && !isNumberTemplate(s.segmentTemplate)) bad(`${at}.segmentTemplate`, `needs exactly one %d or %05d field, got "${s.segmentTemplate}"`);
    if (s.livePlaylist !== undefined && !/\.m3u8$/i.test(s.livePlaylist)) bad(`${at}.livePlaylist`, `must be a path ending in .m3u8, got "${s.livePlaylist}"`);
    // Both playlists name the segments by the same relative URIs.
    else if (s.livePlaylist !== undefined && dirname(s.livePlaylist) !== dirname(s.playlist)) bad(`${at}.livePlaylist`, `must be in the playlist's directory (${dirname(s.playlist)}), got "${s.livePlaylist}"`);
    if (s.liveWindow !== undefined && !(Number.isInteger(s.liveWindow) && s.liveWindow >= 1)) bad(`${at}.liveWindow`, `must be an integer >= 1, got ${String(s.liveWindow)}`);
    if (s.startDate !== undefined && !(s.startDate instanceof Date && Number.isFinite(s.startDate.getTime()))) bad(`${at}.startDate`, 'must be a valid Date');
    checkCodecs(`HLS segments (${s.playlist})`, codecsFor({ kind: 'segments' } as OutputSpec), e, bad);
    return;
  }
  if (kind === 'images') {
    const template = 'images' in out ? out.images : (out as { path: string }).path;
    const field = 'images' in out ? `${at}.images` : `${at}.path`;
    if (typeof template !== 'string' || !isNumberTemplate(template) || imageFormatOfPath(template) === undefined) {
      bad(field, `must be a .jpg or .png template with one %d or %05d field, got "${String(template)}"`);
      return;
    }
    const i: Partial<ImagesOutputInit> = 'images' in out ? out : {};
    if (i.interval !== undefined && !(Number.isFinite(i.interval) && i.interval > 0)) bad(`${at}.interval`, `must be positive seconds, got ${String(i.interval)}`);
    for (const dim of ['width', 'height'] as const) {
      const v = i[dim];
      if (v !== undefined && !(Number.isInteger(v) && v >= 2 && v <= 8192 && v % 2 === 0)) bad(`${at}.${dim}`, `must be an even integer from 2 to 8192, got ${String(v)}`);
    }
    return;
  }
  const f = out as { path: unknown; container?: FileContainer };
  if (typeof f.path !== 'string' || f.path === '') { bad(`${at}.path`, 'must be a non-empty path'); return; }
  const container: FileContainer | undefined = f.container ?? containerOfPath(f.path);
  if (container === undefined || CONTAINER_CODECS[container] === undefined) {
    bad(`${at}.path`, `cannot tell the output from "${f.path}" (a .mp4, .webm or .ogg file, a .m3u8 playlist, a .jpg/.png template with %d, or a stream URL)`);
    return;
  }
  checkCodecs(`${container} file ${f.path}`, CONTAINER_CODECS[container], e, bad);
}

/**
 * What is wrong with a stream URL on a pipeline (its mode and encoding), codecs aside; undefined when
 * nothing is. Config validation and outputs added at runtime both ask it.
 * @internal
 */
export function streamUrlProblem(url: string, live: boolean, e: Pick<EncodingOptions, 'audioCodec' | 'sampleRate' | 'channels'>): string | undefined {
  const protocol = streamProtocolOf(url);
  if (protocol === undefined) return `unknown stream scheme in "${redactUrl(url)}" (rtmp, rtmps, srt, ws, wss)`;
  if (!live) return `${redactUrl(url)} is a stream output, which cannot ingest faster than realtime: not allowed on a non-live pipeline`;
  if (protocol === 'srt') return 'srt stream outputs are not implemented (no SRT library for Node exists; see the README)';
  if (protocol === 'rtmp' && !/^rtmps?:\/\/[^/]+\/[^/]+\/.+/i.test(url)) return `an RTMP URL needs an app and a stream key (rtmp://host/app/key), got "${url}"`;
  if (protocol === 'websocket' && e.audioCodec === null) return 'a websocket output carries audio: audioCodec must not be null';
  if (protocol === 'websocket' && (e.sampleRate !== 48000 || e.channels !== 2)) return `a websocket output sends 48 kHz stereo (egress's format), the encoding has ${e.sampleRate} Hz x${e.channels}`;
  return undefined;
}

/** Reports the encoding's codecs that an output cannot hold. */
function checkCodecs(
  name: string, allowed: { video: readonly VideoCodecName[]; audio: readonly AudioCodecName[] } | undefined, e: EncodingOptions,
  bad: (field: string, message: string) => void,
): void {
  if (allowed === undefined) return;
  if (e.videoCodec !== null && !allowed.video.includes(e.videoCodec)) {
    bad('encoding.videoCodec', allowed.video.length === 0
      ? `${name} holds audio only: set videoCodec to null`
      : `${e.videoCodec} is not allowed in ${name} (allowed: ${allowed.video.join(', ')})`);
  }
  if (e.audioCodec !== null && !allowed.audio.includes(e.audioCodec)) {
    bad('encoding.audioCodec', `${e.audioCodec} is not allowed in ${name} (allowed: ${allowed.audio.join(', ')})`);
  }
}

/**
 * Problems of a resolved encoding, each naming its field: the config's, and again the one a run takes
 * from its source (an input's size or rate may be one no encoder takes).
 * @internal
 */
export function encodingProblems(e: EncodingOptions): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const bad = (field: string, message: string): void => {
    problems.push({ field, message });
  };
  for (const dim of ['width', 'height'] as const) {
    const v = e[dim];
    if (!Number.isInteger(v)) bad(`encoding.${dim}`, `must be an integer, got ${v}`);
    else if (v < 16) bad(`encoding.${dim}`, `must be at least 16, got ${v}`);
    else if (v % 2 !== 0) bad(`encoding.${dim}`, `must be even (4:2:0 chroma), got ${v}`);
    else if (v > 8192) bad(`encoding.${dim}`, `must be at most 8192, got ${v}`);
  }
  if (!Number.isInteger(e.fps) || e.fps < 1 || e.fps > 240) bad('encoding.fps', `must be an integer from 1 to 240, got ${e.fps}`);
  if (e.videoCodec !== null && !VIDEO_CODECS.includes(e.videoCodec)) bad('encoding.videoCodec', `must be one of ${VIDEO_CODECS.join(', ')} or null, got "${String(e.videoCodec)}"`);
  if (e.audioCodec !== null && !AUDIO_CODECS.includes(e.audioCodec)) bad('encoding.audioCodec', `must be one of ${AUDIO_CODECS.join(', ')} or null, got "${String(e.audioCodec)}"`);
  if (!H264_PROFILES.includes(e.h264Profile)) bad('encoding.h264Profile', `must be one of ${H264_PROFILES.join(', ')}, got "${String(e.h264Profile)}"`);
  if (!SPEED_PRESETS.includes(e.speedPreset)) bad('encoding.speedPreset', `must be one of ${SPEED_PRESETS.join(', ')}, got "${String(e.speedPreset)}"`);
  for (const f of ['videoBitrateKbps', 'audioBitrateKbps', 'keyframeInterval'] as const) {
    if (!(typeof e[f] === 'number' && Number.isFinite(e[f]) && e[f] > 0)) bad(`encoding.${f}`, `must be a positive number, got ${e[f]}`);
  }
  if (!(e.channels === 1 || e.channels === 2)) bad('encoding.channels', `must be 1 or 2, got ${e.channels}`);
  const rates = e.audioCodec === 'aac' ? AAC_RATES : OPUS_RATES;
  if (e.audioCodec !== null && !rates.includes(e.sampleRate)) bad('encoding.sampleRate', `${e.audioCodec} takes ${rates.join(', ')} Hz, got ${e.sampleRate}`);
  const ladder = e.renditions;
  if (ladder.length > 0 && e.videoCodec === null) bad('encoding.renditions', 'renditions need video (videoCodec is null)');
  ladder.forEach((r, i) => {
    const at = `encoding.renditions[${i}]`;
    if (typeof r.name !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(r.name)) bad(`${at}.name`, `must be 1 to 32 letters, digits, _ or - (it names files), got ${JSON.stringify(r.name)}`);
    else if (ladder.findIndex((x) => x.name === r.name) !== i) bad(`${at}.name`, `"${r.name}" names two renditions`);
    for (const dim of ['width', 'height'] as const) {
      const v = r[dim];
      if (!(Number.isInteger(v) && v >= 16 && v % 2 === 0)) bad(`${at}.${dim}`, `must be an even whole number of at least 16, got ${String(v)}`);
      // Every rung is scaled down from the first (the frames the run makes): none is larger.
      else if (i > 0 && v > ladder[0]![dim]) bad(`${at}.${dim}`, `must be at most the first rendition's ${ladder[0]![dim]}, got ${v}`);
    }
    if (!(typeof r.videoBitrateKbps === 'number' && Number.isFinite(r.videoBitrateKbps) && r.videoBitrateKbps > 0)) bad(`${at}.videoBitrateKbps`, `must be a positive number, got ${String(r.videoBitrateKbps)}`);
  });
  return problems;
}

/** A trim's `start` and `end`: seconds, start >= 0, end after start. */
function spanProblems(start: number | undefined, end: number | undefined): { field: 'start' | 'end'; message: string }[] {
  const out: { field: 'start' | 'end'; message: string }[] = [];
  if (start !== undefined && !(typeof start === 'number' && Number.isFinite(start) && start >= 0)) out.push({ field: 'start', message: `must be seconds >= 0, got ${String(start)}` });
  else if (end !== undefined && !(typeof end === 'number' && Number.isFinite(end) && end > (start ?? 0))) out.push({ field: 'end', message: `must be seconds after start (${start ?? 0}), got ${String(end)}` });
  return out;
}
