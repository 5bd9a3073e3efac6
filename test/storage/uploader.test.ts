import { describe, expect, it } from 'vitest';
import type { Storage } from '../../src/storage/storage.js';
import { Uploader } from '../../src/storage/uploader.js';

/** A storage that records what it is given and holds each upload until released. */
function heldStorage(): { storage: Storage; uploads: string[]; releaseAll: () => void; inFlight: () => number } {
  const uploads: string[] = [];
  let waiting: (() => void)[] = [];
  let flying = 0;
  const storage: Storage = {
    name: 'held',
    upload: async (localPath, key) => {
      flying++;
      await new Promise<void>((resolve) => waiting.push(resolve));
      flying--;
      uploads.push(`${key}<-${localPath}`);
      return `held:${key}`;
    },
  };
  return { storage, uploads, inFlight: () => flying, releaseAll: () => { const w = waiting; waiting = []; for (const r of w) r(); } };
}

describe('Uploader: uploads of one key', () => {
  it('go one after the other; requests made while one is in flight collapse into the newest, and drain waits for every one', async () => {
    const s = heldStorage();
    const up = new Uploader({ storage: s.storage, concurrency: 4, retries: 0 });
    up.add('/p1', 'index.m3u8', 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(s.inFlight()).toBe(1);
    // Rewritten twice while its first upload is in flight: only the newest follows it.
    up.add('/p2', 'index.m3u8', 1);
    up.add('/p3', 'index.m3u8', 1);
    up.add('/seg0', 'seg0.ts', 1);
    const drained = up.drain();
    for (let i = 0; i < 10 && s.uploads.length < 3; i++) {
      await new Promise((r) => setTimeout(r, 10));
      s.releaseAll();
    }
    const result = await drained;
    expect(s.uploads.filter((u) => u.startsWith('index.m3u8'))).toEqual(['index.m3u8<-/p1', 'index.m3u8<-/p3']);
    expect(s.uploads).toContain('seg0.ts<-/seg0');
    expect(result.uploaded.map((u) => u.path).sort()).toEqual(['/p1', '/p3', '/seg0']);
    expect(result.failed).toEqual([]);
  });
});
