import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const require = createRequire(import.meta.url);

/** The ffmpeg binary of @ffmpeg-installer (a 2018 static build): an independent writer of test inputs. */
export const FFMPEG: string = (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
if ((statSync(FFMPEG).mode & 0o100) === 0) chmodSync(FFMPEG, 0o755);

const dir = join(tmpdir(), 'avpipe-fixtures-v1');
mkdirSync(dir, { recursive: true });

/** 1 kHz beep for the first 100 ms of every second, sample-exact, stereo 48 kHz. */
export const BEEP_SRC = (seconds: number): string =>
  `aevalsrc=if(lt(mod(t\\,1)\\,0.1)\\,0.5*sin(2*PI*1000*t)\\,0)|if(lt(mod(t\\,1)\\,0.1)\\,0.5*sin(2*PI*1000*t)\\,0):s=48000:d=${seconds}`;
/** A moving test pattern with a full white frame at every whole second. */
export const FLASH_SRC = (seconds: number, size = '320x240', rate = 30): string =>
  `testsrc2=s=${size}:r=${rate}:d=${seconds},drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='eq(mod(n\\,${rate})\\,0)'`;

/**
 * A fixture made by ffmpeg, once per machine (cached by name under the temp dir). `args` are the
 * ffmpeg arguments between the global options and the output path.
 */
export async function fixture(name: string, args: string[]): Promise<string> {
  // The arguments are part of the cache key: a changed recipe makes a new file.
  const key = createHash('sha1').update(args.join('\0')).digest('hex').slice(0, 8);
  const path = join(dir, `${key}-${name}`);
  if (existsSync(path) && statSync(path).size > 0) return path;
  const tmp = `${path}.tmp${process.pid}${name.slice(name.lastIndexOf('.'))}`;
  await run(FFMPEG, ['-v', 'error', '-y', ...args, tmp]);
  const { renameSync } = await import('node:fs');
  renameSync(tmp, path);
  return path;
}

/** The flash/beep fixture in a container and codecs of choice. */
export function avFixture(name: string, codecArgs: string[], seconds = 4): Promise<string> {
  return fixture(name, ['-f', 'lavfi', '-i', FLASH_SRC(seconds), '-f', 'lavfi', '-i', BEEP_SRC(seconds), ...codecArgs]);
}

/** The beep alone in a container and codec of choice. */
export function audioFixture(name: string, codecArgs: string[], seconds = 4): Promise<string> {
  return fixture(name, ['-f', 'lavfi', '-i', BEEP_SRC(seconds), ...codecArgs]);
}
