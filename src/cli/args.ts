import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CodecMode, PipelineConfigInit } from '../config/config-init.js';
import type { EncodingInit, RenditionInit } from '../config/encoding.js';
import { outputKindOfPath, type OutputInit, type SegmentFormat } from '../config/outputs.js';
import type { ConfigProblem } from '../errors.js';
import { DEFAULT_QUEUE } from '../jobs/job-queue.js';
import { maxCpuArg, metricsPortArg, redisProblem } from './fleet-args.js';
import { parseStorageUrl, type StorageSpec } from '../storage/storage-spec.js';
import type { UploadOptions } from '../storage/uploader.js';
import type { CodecProviderChoice } from '../config/codecs.js';

/** What the command line asked for. */
export interface ParsedCommand {
  init: PipelineConfigInit;
  json: boolean;
}

const ENCODING_HELP = `  --size WxH               frame size
  --fps N                  frame rate
  --video-codec C          h264 | vp8 | vp9 | none
  --audio-codec C          opus | aac | none
  --preset NAME            H264_720P_30 ... H264_1080P_60, PORTRAIT_* variants
  --h264-profile P         baseline | main | high (default main)
  --video-bitrate KBPS     (default 3000)
  --audio-bitrate KBPS     (default 128)
  --keyframe-interval S    seconds between keyframes (default 2)
  --speed-preset P         x264 preset name (default veryfast)
  --rendition WxH[@KBPS][:NAME]  repeatable: an adaptive-bitrate ladder, the first the run's own encode
                           (e.g. --rendition 1280x720@3000 --rendition 640x360@800); HLS then writes a
                           master playlist over one media playlist per rendition, a file takes the first
  --parallel N|auto        non-live: encode the video in N chunks at once, one worker thread each,
                           cut on the keyframe grid and joined (default auto: where it pays)
  --max-duration S         end as LIMIT_REACHED after S seconds of media
  --max-size BYTES         end as LIMIT_REACHED once the file reaches this size
  --output PATH|URL        repeatable; the type comes from the path or URL:
                             .mp4 .webm .ogg          a file (at most one)
                             .m3u8                    HLS: playlist, segments beside it (at most one)
                             thumbs/img_%05d.jpg|.png thumbnails (any number)
                             rtmp:// rtmps:// ws:// wss://  a stream, live runs only (at most one)
  --segment-duration S     HLS segment length (default 4)
  --segment-format F       ts | fmp4 (default ts)
  --live-playlist PATH     HLS: also a sliding-window playlist of the newest segments
  --thumbnail-interval S   seconds of media time between thumbnails (default 10)
  --thumbnail-size WxH     thumbnail size (default: the video's)
  --upload-dir DIR         copy every finished file, segment and image there (local copies kept)
  --upload s3://BUCKET/PREFIX  upload them to S3 (or a directory) as they finish: an object's key is
                           the prefix and the file's name (HLS segments beside their playlist);
                           credentials, region and endpoint from the AWS SDK's environment
                           (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL_S3)
  --upload-backup URL      where a file goes when the --upload store fails it (s3:// or a directory)
  --codec-provider P       native | wasm | auto (default auto: native FFmpeg when it loads, else
                           WebAssembly: every codec avpipe encodes and decodes, slower)
  --json                   print the result as JSON on stdout, nothing else`;

/** Usage text: every command's (`avpipe help COMMAND` shows one command's part of it). */
export const USAGE = `usage: avpipe record --source test --output PATH [options]
       avpipe export INPUT... --output PATH [options]
       avpipe serve --whip --listen HOST:PORT --output-dir DIR [options]
       avpipe repair FILE.mp4|FILE.webm|PLAYLIST.m3u8 [--json]
       avpipe worker --redis URL [--queue NAME] [--max-cpu 0.8] [--concurrency N] [--metrics-port P [--metrics-host H]]
                     [--drain-timeout S] [--json]
       avpipe submit record|export ...their options... --redis URL [--queue NAME] [--attempts N] [--cost CORES]
                     [--distributed [--chunks N]] [--wait]
       avpipe help [COMMAND] | avpipe COMMAND --help | avpipe --version

record: the built-in test source (flash + beep every second)
  --source test            the test source
  --duration SECONDS       media duration (live runs without it go on until Ctrl-C)
  --live | --no-live       paced at 1x with leaky queues (default) | as fast as possible, nothing dropped
                           (live, on a terminal: p pauses and resumes; the paused time is cut out)

export: recorded files in (MP4/MOV, WebM/MKV, Ogg, MPEG-TS, MP3, WAV, ADTS, FLAC; AVI, MPEG-PS and
        codecs mediabunny does not name, e.g. MPEG-2 video, through FFmpeg's demuxer), as fast as possible
  INPUT[@OFFSET][#ROUTE]   an input file, optionally delayed by OFFSET seconds, its audio optionally
                           routed to one side of the mix (e.g. voice.ogg@1.5#left; a name that is an
                           existing file is taken whole, --input PATH never reads suffixes); several audio
                           tracks are mixed into one
  --start S, --end S       export the session from S to E seconds only (inputs at their offsets):
                           transcoded to the frame and the sample; copied into MP4 from the keyframe
                           before S, with an edit list that starts playback at S
  --copy | --transcode     insist on copying packets | always re-encode (default: copy what can be)
  --input-fps N            frame rate of raw H.264 (Annex B) inputs, which carry no timestamps (default 30)
  --live                   replay at 1x instead (a file played as a live source)

serve: a WHIP endpoint (POST http://HOST:PORT/whip/NAME); every publisher's session is a live recording
  --whip                   serve WHIP (the one protocol served so far)
  --listen HOST:PORT       where to listen (a loopback HOST keeps ICE on 127.0.0.1 too)
  --output-dir DIR         where each session's outputs go
  --output TEMPLATE        repeatable, relative to DIR; {name} is the stream name, {session} the session
                           id (default {name}-{session}.webm); copied when the codecs fit, else transcoded
  --token T                require "Authorization: Bearer T" (visible to other users in the process
                           list: prefer --token-file PATH, or the AVPIPE_WHIP_TOKEN environment variable)
  --token-file PATH        the token, read from a file (a trailing newline is dropped)
  --allow-no-token         serve without a token on a non-loopback address (anyone may publish)
  --cors-origin ORIGIN     repeatable: pages of ORIGIN may publish (default: any origin without a
                           token, none with one; * allows any)
  --max-sessions N         sessions at once; more get 503 (default 64)
  --max-connections N      HTTP connections at once; more are dropped (default 256)
  --ice-host ADDR          repeatable: the host addresses ICE may use (default: all, or 127.0.0.1)
  --wait-for-publisher S   keep a session S seconds after its publisher left; a new POST resumes it
  --workers N              worker threads the sessions are spread over (default: one per core; 0: all
                           on the main thread)
  --redis URL              also be a job worker of the fleet (queue jobs taken as avpipe worker does);
                           each session is then a live job pinned here, admitted under --max-cpu with
                           the jobs (503 when it does not fit), in the worker's logs and metrics
  --queue NAME, --max-cpu R, --metrics-port P   as for worker (with --redis)

worker: runs avpipe jobs from a BullMQ queue on Redis, each in a process of its own
  --redis URL              redis://[USER:PASSWORD@]HOST:PORT[/DB] (rediss:// for TLS)
  --queue NAME             the queue (default avpipe)
  --max-cpu R              take a job only while the load plus its cost stays within R of the cores
                           (default 0.8); one that does not fit goes back to the queue for others
  --concurrency N          at most N jobs at once (default: as many as --max-cpu admits, up to 64)
  --metrics-port P         serve /metrics (Prometheus) and /healthz on P (0: any free port)
  --metrics-host H         the address they listen on (default 127.0.0.1)
  --drain-timeout S        a drain gives jobs still running after S seconds back to the queue
  --connect-timeout S      fail when Redis cannot be reached in S seconds (default 10; also for submit)
  --json                   a JSON line per event on stdout
  SIGTERM or Ctrl-C drains (no new job, the running ones finished, exit 0); a second one stops the
  running ones (what they made is finalized)

submit: queues a record or export run as a job (paths made absolute here); prints its id
  --attempts N             runs before it fails for good (default 1), 5 s apart, doubling
  --cost CORES             the job's CPU cost, which workers admit it by (default: estimated from
                           its kind, size, frame rate, codec and --parallel)
  --distributed            export: the video split into chunks, each a job for any worker, joined by
                           the worker that takes the export (needs --upload or --upload-dir: the
                           chunks pass there, so every worker must reach it)
  --chunks N               how many (default: one per 15 s of media)
  --wait                   wait for it: progress on a terminal, then the result as a local run prints it
                           (exit code and --json alike)

repair: a live recording that a killed recorder left, finished (in place where it can); prints what it kept
  MP4 (written in fragments): made a regular MP4, keeping every complete fragment
  WebM (written in whole clusters): cut after its last complete block, given cues and its duration
  .m3u8 (lists complete segments only): closed with #EXT-X-ENDLIST, temporary files removed

options of all (unset ones follow the input on export and serve, the defaults on record):
${ENCODING_HELP}

logs (every command; on stderr, stdout keeps the result):
  --log-level L            silent | error | warn | info (default) | debug (debug adds progress once a second)
  --log-format F           pretty (default: lines for a person, a progress bar on a terminal) | json (one
                           JSON object per line as pino writes it: level, time, msg and the event's fields)
`;

const OPTIONS = {
  size: { type: 'string' }, fps: { type: 'string' }, 'video-codec': { type: 'string' }, 'audio-codec': { type: 'string' },
  preset: { type: 'string' }, 'h264-profile': { type: 'string' }, 'video-bitrate': { type: 'string' }, 'audio-bitrate': { type: 'string' },
  'keyframe-interval': { type: 'string' }, 'speed-preset': { type: 'string' }, 'max-duration': { type: 'string' }, 'max-size': { type: 'string' },
  output: { type: 'string', multiple: true }, json: { type: 'boolean' },
  'segment-duration': { type: 'string' }, 'segment-format': { type: 'string' }, 'live-playlist': { type: 'string' },
  'thumbnail-interval': { type: 'string' }, 'thumbnail-size': { type: 'string' }, rendition: { type: 'string', multiple: true }, 'upload-dir': { type: 'string' }, upload: { type: 'string' }, 'upload-backup': { type: 'string' }, live: { type: 'boolean' }, 'no-live': { type: 'boolean' },
  'codec-provider': { type: 'string' }, parallel: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

type Values = Record<string, string | boolean | string[] | undefined>;

/** Parses what record and export share: encoding, limits, output, --json. */
function common(values: Values, problems: ConfigProblem[]): Omit<PipelineConfigInit, 'source' | 'live'> {
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const num = (k: string): number | undefined => {
    const v = str(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) problems.push({ field: `--${k}`, message: `must be a number, got "${v}"` });
    return n;
  };
  const codec = (k: string): string | null | undefined => {
    const v = str(k);
    return v === undefined ? undefined : v === 'none' ? null : v;
  };
  const sizeOf = (k: string): [number, number] | [undefined, undefined] => {
    const size = str(k);
    if (size === undefined) return [undefined, undefined];
    const m = /^(\d+)x(\d+)$/.exec(size);
    if (m !== null) return [Number(m[1]), Number(m[2])];
    problems.push({ field: `--${k}`, message: `must be WxH, got "${size}"` });
    return [undefined, undefined];
  };
  const [width, height] = sizeOf('size');
  const [thumbW, thumbH] = sizeOf('thumbnail-size');
  const outputs = (values['output'] as string[] | undefined) ?? [];
  if (outputs.length === 0) problems.push({ field: '--output', message: 'is required' });
  const segmentFormat = str('segment-format');
  /** The fields that are set: an option left out is absent from the init, never `undefined`. */
  const defined = <T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
  return {
    encoding: defined({
      preset: str('preset'), width, height, fps: num('fps'), videoCodec: codec('video-codec'), audioCodec: codec('audio-codec'),
      h264Profile: str('h264-profile'), videoBitrateKbps: num('video-bitrate'), audioBitrateKbps: num('audio-bitrate'),
      keyframeInterval: num('keyframe-interval'), speedPreset: str('speed-preset'),
      renditions: renditionsOf((values['rendition'] as string[] | undefined) ?? [], problems),
    }) as EncodingInit,
    outputs: outputs.map((output): OutputInit => {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(output)) return { url: output };
      const kind = outputKindOfPath(output);
      if (kind === 'segments') {
        return { playlist: output, ...defined({ segmentDuration: num('segment-duration'), segmentFormat: segmentFormat as SegmentFormat | undefined,
          livePlaylist: str('live-playlist'),
        }) };
      }
      if (kind === 'images') return { images: output, ...defined({ interval: num('thumbnail-interval'), width: thumbW, height: thumbH }) };
      return { path: output };
    }),
    limits: defined({ maxDuration: num('max-duration'), maxSize: num('max-size') }),
    ...uploadOf(str('upload-dir'), str('upload'), str('upload-backup'), problems),
    ...(str('codec-provider') === undefined ? {} : { codecProvider: str('codec-provider') as CodecProviderChoice }),
    ...(str('parallel') === undefined ? {} : { parallel: parallelOf(str('parallel')!, problems) }),
  };
}

/** `--rendition WxH[@KBPS][:NAME]`, repeated: the ladder (the config checks sizes and names); undefined when none. */
function renditionsOf(args: readonly string[], problems: ConfigProblem[]): RenditionInit[] | undefined {
  if (args.length === 0) return undefined;
  return args.flatMap((arg): RenditionInit[] => {
    const m = /^(\d+)x(\d+)(?:@(\d+(?:\.\d+)?))?(?::(.+))?$/.exec(arg);
    if (m === null) {
      problems.push({ field: '--rendition', message: `must be WxH[@KBPS][:NAME], got "${arg}"` });
      return [];
    }
    return [{ width: Number(m[1]), height: Number(m[2]), ...(m[3] === undefined ? {} : { videoBitrateKbps: Number(m[3]) }), ...(m[4] === undefined ? {} : { name: m[4] }) }];
  });
}

/** `--parallel auto` or a whole number (the config checks its range). */
function parallelOf(v: string, problems: ConfigProblem[]): number | 'auto' {
  if (v === 'auto') return 'auto';
  if (!/^\d+$/.test(v)) problems.push({ field: '--parallel', message: `must be auto or a whole number, got "${v}"` });
  return Number(v);
}

function parse(argv: string[], extra: ParseArgsConfig['options'], positionals: boolean): { values: Values; positionals: string[] } | { problems: ConfigProblem[] } {
  try {
    return parseArgs({ args: argv, options: { ...OPTIONS, ...extra }, strict: true, allowPositionals: positionals });
  } catch (err) {
    return { problems: [{ field: 'arguments', message: (err as Error).message }] };
  }
}

/** Parses `record` arguments into a config init, or returns the problems found. */
export function parseRecordArgs(argv: string[]): ParsedCommand | { problems: ConfigProblem[] } {
  const parsed = parse(argv, { source: { type: 'string' }, duration: { type: 'string' } }, false);
  if ('problems' in parsed) return parsed;
  const { values } = parsed;
  const problems: ConfigProblem[] = [];
  if (values['live'] === true && values['no-live'] === true) problems.push({ field: '--live', message: 'give --live or --no-live, not both' });
  const source = (values['source'] as string | undefined) ?? 'test';
  if (source !== 'test') problems.push({ field: '--source', message: `unknown source "${source}" (test; use avpipe export for files)` });
  const d = values['duration'] as string | undefined;
  const duration = d === undefined ? undefined : Number(d);
  if (duration !== undefined && !Number.isFinite(duration)) problems.push({ field: '--duration', message: `must be a number, got "${d}"` });
  const init: PipelineConfigInit = {
    ...common(values, problems),
    live: values['no-live'] !== true,
    source: { type: 'test', ...(duration === undefined ? {} : { duration }) },
  };
  return problems.length > 0 ? { problems } : { init, json: values['json'] === true };
}

/** What `avpipe serve` was asked for. */
export interface ParsedServe {
  host: string;
  port: number;
  outputDir: string;
  /** From --token, --token-file or AVPIPE_WHIP_TOKEN, in that order. */
  token: string | undefined;
  /** Origins whose pages may publish (--cors-origin); undefined: the server's default. */
  corsOrigins: string[] | undefined;
  /** Sessions at once (--max-sessions); undefined: the server's default. */
  maxSessions: number | undefined;
  /** HTTP connections at once (--max-connections); undefined: the server's default. */
  maxConnections: number | undefined;
  iceHosts: string[] | undefined;
  /** Seconds a session waits for its publisher to come back; undefined: it ends when the publisher leaves. */
  waitS: number | undefined;
  /** Worker threads the sessions are spread over. */
  workers: number;
  /** The config of one session. */
  configFor: (name: string, session: string) => PipelineConfigInit;
  json: boolean;
  /** With --redis: the fleet this server's worker joins; its sessions are admitted with its jobs. */
  fleet: { redis: string; queue: string; maxCpu: number; metricsPort: number | undefined } | undefined;
}

/** Whether `host` is a loopback address (127.0.0.0/8, ::1, localhost): only this machine reaches it. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Parses `serve` arguments, or returns the problems found. The token comes from --token, --token-file
 * or `env.AVPIPE_WHIP_TOKEN`; a server without one is refused on a non-loopback address unless
 * --allow-no-token says so.
 */
export function parseServeArgs(argv: string[], env: Readonly<Record<string, string | undefined>> = process.env): ParsedServe | { problems: ConfigProblem[] } {
  const parsed = parse(argv, {
    whip: { type: 'boolean' }, listen: { type: 'string' }, 'output-dir': { type: 'string' }, token: { type: 'string' },
    'token-file': { type: 'string' }, 'allow-no-token': { type: 'boolean' }, 'cors-origin': { type: 'string', multiple: true },
    'max-sessions': { type: 'string' }, 'max-connections': { type: 'string' },
    'ice-host': { type: 'string', multiple: true }, 'wait-for-publisher': { type: 'string' }, workers: { type: 'string' },
    redis: { type: 'string' }, queue: { type: 'string' }, 'max-cpu': { type: 'string' }, 'metrics-port': { type: 'string' },
  }, false);
  if ('problems' in parsed) return parsed;
  const { values } = parsed;
  const problems: ConfigProblem[] = [];
  if (values['whip'] !== true) problems.push({ field: '--whip', message: 'is required (WHIP is the protocol served)' });
  if (values['no-live'] === true) problems.push({ field: '--no-live', message: 'a WHIP session is live' });
  const listen = values['listen'] as string | undefined;
  const m = listen === undefined ? null : /^(.+):(\d+)$/.exec(listen);
  if (m === null) problems.push({ field: '--listen', message: listen === undefined ? 'is required (HOST:PORT)' : `must be HOST:PORT, got "${listen}"` });
  const outputDir = values['output-dir'] as string | undefined;
  if (outputDir === undefined) problems.push({ field: '--output-dir', message: 'is required' });
  const w = values['wait-for-publisher'] as string | undefined;
  const waitS = w === undefined ? undefined : Number(w);
  if (waitS !== undefined && !(Number.isFinite(waitS) && waitS >= 0)) problems.push({ field: '--wait-for-publisher', message: `must be seconds >= 0, got "${w}"` });
  const wk = values['workers'] as string | undefined;
  // One worker per core by default.
  const workers = wk === undefined ? availableParallelism() : Number(wk);
  if (!(Number.isInteger(workers) && workers >= 0)) problems.push({ field: '--workers', message: `must be an integer >= 0, got "${wk}"` });
  const templates = (values['output'] as string[] | undefined) ?? ['{name}-{session}.webm'];
  const host = m?.[1]?.replace(/^\[(.*)\]$/, '$1') ?? '127.0.0.1';
  const tokenProblems = problems.length;
  const token = serveToken(values, env, problems);
  if (token === undefined && problems.length === tokenProblems && m !== null && !isLoopbackHost(host) && values['allow-no-token'] !== true) {
    problems.push({ field: '--token', message: `is required to listen on ${host}, which other machines reach (or --token-file PATH, or AVPIPE_WHIP_TOKEN; --allow-no-token to serve without one)` });
  }
  const positive = (k: string): number | undefined => {
    const v = values[k] as string | undefined;
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!(Number.isInteger(n) && n > 0)) problems.push({ field: `--${k}`, message: `must be an integer > 0, got "${v}"` });
    return n;
  };
  const maxSessions = positive('max-sessions');
  const maxConnections = positive('max-connections');
  const loopback = host === '127.0.0.1' || host === 'localhost';
  const iceHosts = (values['ice-host'] as string[] | undefined) ?? (loopback ? ['127.0.0.1'] : undefined);
  const configFor = (name: string, session: string): PipelineConfigInit => {
    const outputs = templates.map((t) => {
      const filled = t.replaceAll('{name}', name).replaceAll('{session}', session);
      return /^[a-z][a-z0-9+.-]*:\/\//i.test(filled) ? filled : join(outputDir ?? '.', filled);
    });
    return { ...common({ ...values, output: outputs }, []), live: true };
  };
  // The options are checked once, on a sample session.
  common({ ...values, output: templates }, problems);
  const fleet = serveFleet(values, problems);
  if (problems.length > 0) return { problems };
  return {
    host, port: Number(m![2]), outputDir: outputDir!, token, corsOrigins: values['cors-origin'] as string[] | undefined, maxSessions, maxConnections,
    iceHosts, waitS, workers, configFor, json: values['json'] === true, fleet,
  };
}

/** `serve --redis URL [--queue NAME] [--max-cpu R] [--metrics-port P]`: the fleet it joins, or undefined. */
function serveFleet(values: Values, problems: ConfigProblem[]): ParsedServe['fleet'] {
  const redis = values['redis'] as string | undefined;
  if (redis === undefined) {
    for (const k of ['queue', 'max-cpu', 'metrics-port']) if (values[k] !== undefined) problems.push({ field: `--${k}`, message: 'needs --redis' });
    return undefined;
  }
  redisProblem(redis, problems);
  const maxCpu = maxCpuArg(values['max-cpu'] as string | undefined, 'jobs and sessions', problems);
  const port = metricsPortArg(values['metrics-port'] as string | undefined, problems);
  return { redis, queue: (values['queue'] as string | undefined) ?? DEFAULT_QUEUE, maxCpu, metricsPort: port };
}

/** The serve token: --token, else --token-file (its trailing newline dropped), else AVPIPE_WHIP_TOKEN. */
function serveToken(values: Values, env: Readonly<Record<string, string | undefined>>, problems: ConfigProblem[]): string | undefined {
  const arg = values['token'] as string | undefined;
  const file = values['token-file'] as string | undefined;
  if (arg !== undefined && file !== undefined) {
    problems.push({ field: '--token-file', message: 'give --token or --token-file, not both' });
    return undefined;
  }
  let token = arg;
  let field = '--token';
  if (file !== undefined) {
    field = '--token-file';
    try {
      token = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      problems.push({ field, message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      return undefined;
    }
  } else if (token === undefined && env['AVPIPE_WHIP_TOKEN'] !== undefined) {
    field = 'AVPIPE_WHIP_TOKEN';
    token = env['AVPIPE_WHIP_TOKEN'];
  }
  if (token !== undefined && (token.length === 0 || /\s/.test(token))) {
    problems.push({ field, message: token.length === 0 ? 'the token is empty' : 'the token has white space or line breaks in it (a bearer token cannot)' });
    return undefined;
  }
  return token;
}

/** Parses `export` arguments into a config init, or returns the problems found. */
export function parseExportArgs(argv: string[]): ParsedCommand | { problems: ConfigProblem[] } {
  const parsed = parse(argv, { copy: { type: 'boolean' }, transcode: { type: 'boolean' }, 'input-fps': { type: 'string' }, input: { type: 'string', multiple: true }, start: { type: 'string' }, end: { type: 'string' } }, true);
  if ('problems' in parsed) return parsed;
  const { values, positionals } = parsed;
  const problems: ConfigProblem[] = [];
  const named = (values['input'] as string[] | undefined) ?? [];
  if (positionals.length === 0 && named.length === 0) problems.push({ field: 'INPUT', message: 'at least one input file is required' });
  if (values['copy'] === true && values['transcode'] === true) problems.push({ field: '--copy', message: 'give --copy or --transcode, not both' });
  const fpsArg = values['input-fps'] as string | undefined;
  const fps = fpsArg === undefined ? undefined : Number(fpsArg);
  if (fps !== undefined && !(Number.isFinite(fps) && fps > 0)) problems.push({ field: '--input-fps', message: `must be a positive number, got "${fpsArg}"` });
  // An argument that names an existing file is that file (`take@2.mp4` stays reachable); otherwise its
  // @OFFSET and #ROUTE suffixes are read. `--input PATH` never reads suffixes.
  const inputs = [
    ...positionals.map((arg) => {
      const m = existsSync(arg) ? undefined : /^(.*?)(?:@(\d+(?:\.\d+)?))?(?:#(left|right|both))?$/.exec(arg)!;
      return {
        path: m?.[1] ?? arg, ...(m?.[2] === undefined ? {} : { offset: Number(m[2]) }), ...(m?.[3] === undefined ? {} : { route: m[3] as 'left' | 'right' | 'both' }),
        ...(fps === undefined ? {} : { fps }),
      };
    }),
    ...named.map((path) => ({ path, ...(fps === undefined ? {} : { fps }) })),
  ];
  const codecMode: CodecMode = values['copy'] === true ? 'copy' : values['transcode'] === true ? 'transcode' : 'auto';
  const span: { start?: number; end?: number } = {};
  for (const k of ['start', 'end'] as const) {
    const arg = values[k] as string | undefined;
    if (arg === undefined) continue;
    const n = Number(arg);
    if (arg.trim() === '' || !Number.isFinite(n) || n < 0) problems.push({ field: `--${k}`, message: `must be seconds >= 0, got "${arg}"` });
    else span[k] = n;
  }
  const init: PipelineConfigInit = {
    ...common(values, problems),
    live: values['live'] === true,
    source: { type: 'file', inputs, ...span },
    codecMode,
  };
  return problems.length > 0 ? { problems } : { init, json: values['json'] === true };
}

/** A store named on the command line, a directory made absolute (a job's worker runs elsewhere). */
function storeOf(url: string, field: string, problems: ConfigProblem[]): StorageSpec | undefined {
  try {
    const spec = parseStorageUrl(url);
    return spec.type === 'local' ? { type: 'local', dir: resolve(spec.dir) } : spec;
  } catch (err) {
    problems.push({ field, message: (err as Error).message });
    return undefined;
  }
}

/** `--upload-dir DIR` or `--upload URL` (one of them), and `--upload-backup URL` behind it, as the config's storage. */
function uploadOf(dir: string | undefined, url: string | undefined, backup: string | undefined, problems: ConfigProblem[]): { storage?: UploadOptions } {
  if (dir !== undefined && url !== undefined) problems.push({ field: '--upload', message: 'give --upload or --upload-dir, not both' });
  const main = url ?? dir;
  if (main === undefined) {
    if (backup !== undefined) problems.push({ field: '--upload-backup', message: 'needs --upload' });
    return {};
  }
  const store = storeOf(main, url === undefined ? '--upload-dir' : '--upload', problems);
  const backupStore = backup === undefined ? undefined : storeOf(backup, '--upload-backup', problems);
  if (store === undefined || (backup !== undefined && backupStore === undefined)) return {};
  return { storage: { storage: store, ...(backupStore === undefined ? {} : { backup: backupStore }) } };
}
