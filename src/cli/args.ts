import { parseArgs } from 'node:util';
import type { PipelineConfigInit } from '../config/pipeline-config.js';
import type { ConfigProblem } from '../errors.js';

/** What the command line asked for. */
export interface RecordCommand {
  init: PipelineConfigInit;
  json: boolean;
}

/** Usage text. */
export const USAGE = `usage: avpipe record --source test --output PATH [options]

  --source test            the built-in test source (flash + beep every second)
  --duration SECONDS       media duration (live runs without it go on until Ctrl-C)
  --size WxH               frame size (default 1280x720)
  --fps N                  frame rate (default 30)
  --video-codec C          h264 | vp8 | vp9 | none (default h264)
  --audio-codec C          opus | aac | none (default opus)
  --preset NAME            H264_720P_30 ... H264_1080P_60, PORTRAIT_* variants
  --h264-profile P         baseline | main | high (default main)
  --video-bitrate KBPS     (default 3000)
  --audio-bitrate KBPS     (default 128)
  --keyframe-interval S    seconds between keyframes (default 2)
  --speed-preset P         x264 preset name (default veryfast)
  --live | --no-live       paced at 1x with leaky queues (default) | as fast as possible, nothing dropped
  --max-duration S         end as LIMIT_REACHED after S seconds of media
  --max-size BYTES         end as LIMIT_REACHED once the file reaches this size
  --output PATH            .mp4, .webm or .ogg (a URL such as rtmp://... is refused on --no-live)
  --json                   print the result as JSON on stdout, nothing else
`;

/** Parses `record` arguments into a config init, or returns the problems found. */
export function parseRecordArgs(argv: string[]): RecordCommand | { problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        source: { type: 'string' }, duration: { type: 'string' }, size: { type: 'string' }, fps: { type: 'string' },
        'video-codec': { type: 'string' }, 'audio-codec': { type: 'string' }, preset: { type: 'string' },
        'h264-profile': { type: 'string' }, 'video-bitrate': { type: 'string' }, 'audio-bitrate': { type: 'string' },
        'keyframe-interval': { type: 'string' }, 'speed-preset': { type: 'string' },
        live: { type: 'boolean' }, 'no-live': { type: 'boolean' },
        'max-duration': { type: 'string' }, 'max-size': { type: 'string' },
        output: { type: 'string' }, json: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return { problems: [{ field: 'arguments', message: (err as Error).message }] };
  }
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const num = (k: string): number | undefined => {
    const v = str(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) problems.push({ field: `--${k}`, message: `must be a number, got "${v}"` });
    return n;
  };
  const codec = <T extends string>(k: string): T | null | undefined => {
    const v = str(k);
    return v === undefined ? undefined : v === 'none' ? null : (v as T);
  };
  if (values['live'] === true && values['no-live'] === true) problems.push({ field: '--live', message: 'give --live or --no-live, not both' });
  const source = str('source') ?? 'test';
  if (source !== 'test') problems.push({ field: '--source', message: `unknown source "${source}" (test)` });
  let width: number | undefined;
  let height: number | undefined;
  const size = str('size');
  if (size !== undefined) {
    const m = /^(\d+)x(\d+)$/.exec(size);
    if (m === null) problems.push({ field: '--size', message: `must be WxH, got "${size}"` });
    else [width, height] = [Number(m[1]), Number(m[2])];
  }
  const output = str('output');
  if (output === undefined) problems.push({ field: '--output', message: 'is required' });
  const duration = num('duration');
  const init: PipelineConfigInit = {
    live: values['no-live'] === true ? false : true,
    source: { type: 'test', ...(duration === undefined ? {} : { duration }) },
    encoding: Object.fromEntries(Object.entries({
      preset: str('preset'), width, height, fps: num('fps'),
      videoCodec: codec('video-codec'), audioCodec: codec('audio-codec'),
      h264Profile: str('h264-profile'), videoBitrateKbps: num('video-bitrate'), audioBitrateKbps: num('audio-bitrate'),
      keyframeInterval: num('keyframe-interval'), speedPreset: str('speed-preset'),
    }).filter(([, v]) => v !== undefined)) as PipelineConfigInit['encoding'],
    outputs: output === undefined ? [] : [/^[a-z][a-z0-9+.-]*:\/\//i.test(output) ? { url: output } : { path: output }],
    limits: Object.fromEntries(Object.entries({ maxDuration: num('max-duration'), maxSize: num('max-size') }).filter(([, v]) => v !== undefined)),
  };
  // An Ogg file holds audio only: drop video unless the user asked for a codec explicitly.
  if (output !== undefined && /\.ogg$/i.test(output) && str('video-codec') === undefined) init.encoding = { ...init.encoding, videoCodec: null };
  if (problems.length > 0) return { problems };
  return { init, json: values['json'] === true };
}
