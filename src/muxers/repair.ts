import { open } from 'node:fs/promises';
import { finalizeFragmentedMp4, type Mp4FinalizeReport } from './mp4-defragment.js';
import { closePlaylist, type PlaylistRepairReport } from './playlist-repair.js';
import { repairWebm, type WebmRepairReport } from './webm-repair.js';

/** What repairing a recording kept, by container (`container` tells which). */
export type RepairReport =
  | ({
    /** A fragmented MP4, made regular. */
    container: 'mp4';
  } & Mp4FinalizeReport)
  | ({
    /** A WebM, given its duration and, room allowing, its cues. */
    container: 'webm';
  } & WebmRepairReport)
  | ({
    /** An HLS media playlist, closed. */
    container: 'hls';
  } & PlaylistRepairReport);

/**
 * Finishes a recording a killed recorder left, told apart by its first bytes (not its name): a
 * fragmented MP4 made regular in place, a WebM given its cues and duration (in place, or through a
 * finished copy when another muxer left no room for them), an HLS playlist closed.
 * Throws `INPUT_INVALID`, the file untouched, when there is nothing it can repair.
 */
export async function repairRecording(path: string): Promise<RepairReport> {
  const fh = await open(path, 'r');
  const head = new Uint8Array(8);
  try {
    await fh.read(head, 0, 8, 0);
  } finally {
    await fh.close();
  }
  if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return { container: 'webm', ...(await repairWebm(path)) };
  if (new TextDecoder().decode(head.subarray(0, 7)) === '#EXTM3U') return { container: 'hls', ...(await closePlaylist(path)) };
  return { container: 'mp4', ...(await finalizeFragmentedMp4(path)) };
}
