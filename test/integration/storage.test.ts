import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalStorage, type Storage } from '../../src/index.js';
import { frames, probe, streamOf } from '../helpers/ffprobe.js';
import { record } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

const dir = tmpDir();
const sd = { width: 320, height: 240 };

/** Local storage that counts uploads in flight and can fail some keys. */
class ProbingStorage implements Storage {
  readonly name = 'probing';
  inFlight = 0;
  maxInFlight = 0;
  attempts = new Map<string, number>();
  constructor(private readonly inner: LocalStorage, private readonly failKey: (key: string, attempt: number) => boolean) {}
  async upload(localPath: string, key: string): Promise<string> {
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, 5));
      if (this.failKey(key, attempt)) throw new Error(`storage refused ${key}`);
      return await this.inner.upload(localPath, key);
    } finally {
      this.inFlight--;
    }
  }
}

describe('uploads to storage', () => {
  it('uploads the file, every segment and playlist, and every image, at most `concurrency` at once, retrying failures', async () => {
    const out = join(dir, 'a');
    const store = join(dir, 'store-a');
    const storage = new ProbingStorage(new LocalStorage(store), (key, attempt) => key.endsWith('_00001.ts') && attempt === 1);
    const r = await record({
      live: false, source: { type: 'test', duration: 6 }, encoding: sd,
      outputs: [{ path: join(out, 'rec.mp4') }, { playlist: join(out, 'hls.m3u8'), segmentDuration: 2 }, { images: join(out, 'th_%02d.jpg'), interval: 2 }],
      storage: { storage, concurrency: 2, backoffMs: 10 },
    });
    expect(r.status).toBe('COMPLETE');
    expect(r.error).toBeNull();
    expect(storage.maxInFlight).toBeLessThanOrEqual(2);
    expect(r.uploads).toMatchObject({ storage: 'probing', failed: [], retries: 1 });
    const stored = readdirSync(store).sort();
    expect(stored).toEqual(['hls.m3u8', 'hls_00000.ts', 'hls_00001.ts', 'hls_00002.ts', 'rec.mp4', 'th_00.jpg', 'th_01.jpg', 'th_02.jpg']);
    for (const f of stored) expect(readFileSync(join(store, f)).equals(readFileSync(join(out, f)))).toBe(true);
    // The stored playlist is the final one, and plays from the store.
    expect(readFileSync(join(store, 'hls.m3u8'), 'utf8')).toContain('#EXT-X-ENDLIST');
    expect(frames(streamOf(await probe(join(store, 'hls.m3u8')), 'video'))).toBe(180);
  });

  it('a failed upload loses nothing: the local copy is kept and the run says which file failed', async () => {
    const out = join(dir, 'b');
    mkdirSync(out);
    const storage = new ProbingStorage(new LocalStorage(join(dir, 'store-b')), (key) => key === 'rec.mp4');
    const r = await record({
      live: false, source: { type: 'test', duration: 2 }, encoding: sd, outputs: [{ path: join(out, 'rec.mp4') }],
      storage: { storage, retries: 2, backoffMs: 10, deleteLocal: true },
    });
    expect(r.status).toBe('COMPLETE');
    expect(r.error).toMatchObject({ code: 'UPLOAD_FAILED', fatal: false });
    expect(r.uploads?.failed).toEqual([{ path: join(out, 'rec.mp4'), error: 'storage refused rec.mp4' }]);
    expect(storage.attempts.get('rec.mp4')).toBe(3);
    expect(existsSync(join(out, 'rec.mp4'))).toBe(true);
    expect(frames(streamOf(await probe(join(out, 'rec.mp4')), 'video'))).toBe(60);
  });

  it('deletes local copies only after their upload is confirmed, when asked', async () => {
    const out = join(dir, 'c');
    mkdirSync(out);
    const store = join(dir, 'store-c');
    const r = await record({
      live: false, source: { type: 'test', duration: 2 }, encoding: sd, outputs: [{ path: join(out, 'rec.mp4') }, { images: join(out, 't_%d.png'), interval: 1 }],
      storage: { storage: new LocalStorage(store), deleteLocal: true },
    });
    expect(r.status).toBe('COMPLETE');
    expect(readdirSync(out)).toEqual([]);
    expect(readdirSync(store).sort()).toEqual(['rec.mp4', 't_0.png', 't_1.png']);
  });
});

describe('LocalStorage', () => {
  it('keeps every key inside its directory (`..`, and a sibling sharing its prefix); a failed upload leaves nothing in the store', async () => {
    const root = join(dir, 'store-root');
    const storage = new LocalStorage(root);
    const file = join(dir, 'local.bin');
    writeFileSync(file, 'media');
    await expect(storage.upload(file, '../escaped.bin')).rejects.toThrow(/leaves/);
    // `store-root2` starts with `store-root`: a prefix check without the separator let this through.
    await expect(storage.upload(file, '../store-root2/x.bin')).rejects.toThrow(/leaves/);
    expect(existsSync(join(dir, 'escaped.bin'))).toBe(false);
    expect(existsSync(join(dir, 'store-root2'))).toBe(false);
    expect(await storage.upload(file, 'a/b.bin')).toBe(join(root, 'a', 'b.bin'));
    // An upload that fails (the local file vanished) leaves nothing in the store.
    await expect(storage.upload(join(dir, 'missing.bin'), 'c.bin')).rejects.toThrow();
    expect(readdirSync(root)).toEqual(['a']);
  });
});
