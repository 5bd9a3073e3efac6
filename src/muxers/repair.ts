import { finalizeFragmentedMp4, type Mp4FinalizeReport } from './mp4-defragment.js';

/**
 * Repairs what a killed live recording left: an MP4 (written in fragments) becomes a regular MP4 in
 * place, keeping every complete fragment; the report says how much media it holds. Throws an
 * `INPUT_INVALID` AvpipeError naming the file when there is nothing to repair with.
 */
export async function repairRecording(path: string): Promise<Mp4FinalizeReport> {
  return finalizeFragmentedMp4(path);
}
