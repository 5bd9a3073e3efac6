import { execFile, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { createController, createPipelineConfig, WhipServer, type PipelineResult, type WebRtcSourceStats, type WhipSession } from '../../src/index.js';
import { beepOnsets, decodeErrors, flashTimes, frames, packetSpan, probe, streamOf } from '../helpers/ffprobe.js';
import { serveCli } from '../helpers/serve-cli.js';
import { serveDir } from '../helpers/static-server.js';
import { CHROMIUM, CHROMIUM_MISSING, describeNeeding, missingTools, onPath } from '../helpers/peers.js';
import { tmpDir } from '../helpers/tmp.js';

const exec = promisify(execFile);
const dir = tmpDir();
const LOOPBACK = ['127.0.0.1'];

/** simple-whip-client and the gcc that builds its loopback shim, on the PATH as .ci/run finds them. */
const WHIP_CLIENT = onPath('whip-client');
const WHIP_CLIENT_MISSING = missingTools([{ command: 'whip-client', apt: 'simple-whip-client' }, { command: 'gcc', apt: 'gcc libc6-dev' }]);

/** A WHIP server recording each session to `<name>.webm` in the test directory; its first session's end. */
async function whipServer(): Promise<{ server: WhipServer; base: string; ended: Promise<{ session: WhipSession; result: PipelineResult; stats: WebRtcSourceStats }> }> {
  const server = new WhipServer({ config: (name) => ({ outputs: [{ path: join(dir, `${name}.webm`) }] }), iceHosts: LOOPBACK });
  const base = await server.listen(0);
  const ended = new Promise<{ session: WhipSession; result: PipelineResult; stats: WebRtcSourceStats }>((resolve) => {
    server.once('end', (session, result) => resolve({ session, result, stats: session.stats()! }));
  });
  return { server, base, ended };
}

/** Resolves once a session of the server has recorded `seconds` of video frames. */
async function mediaFor(server: WhipServer, seconds: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const video = server.sessions[0]?.stats()?.tracks.find((t) => t.kind === 'video');
    if (video !== undefined && video.frames.frames >= seconds * 30) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  const session = server.sessions[0];
  throw new Error(`no ${seconds} s of video within ${timeoutMs} ms; ${session === undefined ? 'no session' : `the session's source: ${JSON.stringify(session.stats())}`}`);
}

describeNeeding(WHIP_CLIENT_MISSING)('a real WHIP client: simple-whip-client (GStreamer webrtcbin)', () => {
  it('publishes VP8 + Opus with trickled candidates (PATCH); SIGINT sends DELETE; the WebM decodes cleanly', async () => {
    // The loopback shim (../fixtures/whip-client/nice-loopback.c): libnice on 127.0.0.1 only, no UPnP.
    const shim = join(dir, 'libnice-loopback.so');
    await exec('gcc', ['-shared', '-fPIC', '-O2', '-Wl,-soname,libgupnp-igd-1.0.so.4', '-o', shim, join(import.meta.dirname, '../fixtures/whip-client/nice-loopback.c'), '-ldl']);
    const { server, base, ended } = await whipServer();
    try {
      const client = spawn(WHIP_CLIENT!, [
        '-u', `${base}/whip/gst`,
        '-V', 'videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate=30/1 ! videoconvert ! queue ! vp8enc deadline=1 ! rtpvp8pay pt=96 ssrc=2 ! queue ! application/x-rtp,media=video,encoding-name=VP8,payload=96',
        '-A', 'audiotestsrc is-live=true wave=ticks ! audioconvert ! audioresample ! queue ! opusenc ! rtpopuspay pt=100 ssrc=1 ! queue ! application/x-rtp,media=audio,encoding-name=OPUS,payload=100',
      ], { env: { ...process.env, LD_PRELOAD: shim }, stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      client.stdout.on('data', (d: Buffer) => (log += d.toString()));
      client.stderr.on('data', (d: Buffer) => (log += d.toString()));
      // A session that ends first (e.g. no media within its track timeout) fails with its own reason.
      const endedFirst = ended.then(({ result, stats }) => { throw new Error(`the session ended before 4 s of video: ${JSON.stringify(result.error)}; its source: ${JSON.stringify(stats)}`); });
      await Promise.race([mediaFor(server, 4), endedFirst]).catch((e: Error) => {
        throw new Error(`${e.message}\nwhip-client said:\n${log}`);
      });
      client.kill('SIGINT');
      const { result, stats } = await ended;
      expect(result.status, JSON.stringify(result.error)).toBe('COMPLETE');
      expect(stats.leftBecause).toBe('the publisher hung up');
      expect(log).toContain('Resource URL');
      // Its candidate came by PATCH, not in the offer, and was taken: trickled and given to the peer (a
      // PATCH naming another ETag would have been refused). ICE could also succeed on a peer-reflexive
      // candidate, so this counter, not the connection, shows the PATCH was taken.
      expect(stats.candidates).toEqual({ offered: 0, trickled: 1, ignored: 0 });
      const out = join(dir, 'gst.webm');
      const p = await probe(out);
      expect(streamOf(p, 'video').codec_name).toBe('vp8');
      expect(streamOf(p, 'audio').codec_name).toBe('opus');
      const video = stats.tracks.find((t) => t.kind === 'video')!;
      expect(frames(streamOf(p, 'video'))).toBe(video.frames.frames);
      expect(frames(streamOf(p, 'video'))).toBeGreaterThanOrEqual(120);
      expect(await decodeErrors(out)).toBe('');
    } finally {
      await server.close();
    }
  }, 60_000);
});

/**
 * The publishing page: a canvas, drawn and captured 30 times a second, that flashes white for one
 * frame when the audio clock crosses a whole second, and a WebAudio beep started at that same moment, sent through WHIP (non-trickle: the offer waits for
 * its candidates).
 */
const PUBLISHER_PAGE = `<!doctype html><canvas id="c" width="640" height="360"></canvas><script>
window.publish = async (endpoint, seconds) => {
  const canvas = document.getElementById('c');
  const g = canvas.getContext('2d');
  const ac = new AudioContext({ sampleRate: 48000 });
  const dest = ac.createMediaStreamDestination();
  const gain = ac.createGain();
  gain.gain.value = 0;
  const osc = ac.createOscillator();
  osc.frequency.value = 1000;
  osc.connect(gain).connect(dest);
  osc.start();
  // Frames are captured when drawn (requestFrame), 30 a second: a one-frame flash cannot fall between captures.
  const video = canvas.captureStream(0).getVideoTracks()[0];
  const stream = new MediaStream([video, ...dest.stream.getAudioTracks()]);
  const pc = new RTCPeerConnection();
  for (const t of stream.getTracks()) pc.addTransceiver(t, { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); });
  const res = await fetch(endpoint, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
  if (res.status !== 201) throw new Error('WHIP ' + res.status + ' ' + await res.text());
  const resource = new URL(res.headers.get('location'), endpoint).href;
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  // The pattern starts once media flows (a flash drawn before DTLS is up is never sent).
  await new Promise((r) => { if (pc.connectionState === 'connected') r(); pc.onconnectionstatechange = () => pc.connectionState === 'connected' && r(); });
  await new Promise((r) => setTimeout(r, 300));
  let last = -1;
  let drawn = 0;
  let x = 0;
  const t0 = ac.currentTime;
  await new Promise((done) => {
    const draw = () => {
      const t = ac.currentTime - t0;
      const sec = Math.floor(t);
      if (sec >= seconds) return done();
      if (sec !== last) {
        last = sec;
        g.fillStyle = '#fff';
        g.fillRect(0, 0, 640, 360);
        const now = ac.currentTime;
        gain.gain.setValueAtTime(0.8, now);
        gain.gain.setValueAtTime(0, now + 0.1);
      } else {
        g.fillStyle = '#204060';
        g.fillRect(0, 0, 640, 360);
        g.fillStyle = '#a0a0a0';
        g.fillRect((x += 8) % 640, 150, 60, 60);
      }
      video.requestFrame();
      drawn++;
      setTimeout(draw, 1000 / 30);
    };
    draw();
  });
  // What the browser itself says it sent (WebRTC's own statistics), before it hangs up.
  await new Promise((r) => setTimeout(r, 200));
  const sent = { drawn, flashes: seconds };
  (await pc.getStats()).forEach((s) => { if (s.type === 'outbound-rtp' && s.kind === 'video') sent.frames = s.framesSent; });
  await fetch(resource, { method: 'DELETE' });
  pc.close();
  return sent;
};
</script>`;

describeNeeding(CHROMIUM_MISSING)('a real browser publishes through WHIP: headless Chromium', () => {
  it('canvas + WebAudio, VP8 + Opus copied to WebM: every frame the browser sent in the file or counted as left out, every flash within one frame of its beep, no decode error', async () => {
    const { server, base, ended } = await whipServer();
    const pages = await serveDir(dir);
    writeFileSync(join(dir, 'publisher.html'), PUBLISHER_PAGE);
    const browser = await chromium.launch({
      executablePath: CHROMIUM!,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--autoplay-policy=no-user-gesture-required', '--allow-loopback-in-peer-connection',
        // Host candidates as addresses, not mDNS names: the endpoint takes 127.0.0.1 only.
        '--disable-features=WebRtcHideLocalIpsWithMdns'],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${pages.url}/publisher.html`);
      // What the page drew (a flash on the first frame of each of its 6 seconds) and what the browser
      // says it sent: its encoder may drop a frame under load, and with it a flash.
      const sent = await page.evaluate(`window.publish(${JSON.stringify(`${base}/whip/browser`)}, 6)`) as { drawn: number; flashes: number; frames: number };
      const { result, stats } = await ended;
      expect(result.status, JSON.stringify(result.error)).toBe('COMPLETE');
      expect(result.tracks.map((t) => [t.kind, t.mode])).toEqual([['video', 'copy'], ['audio', 'copy']]);
      const out = join(dir, 'browser.webm');
      // Every frame the browser sent (its own count, WebRTC's statistics) is accounted for: in the file,
      // or counted as left out by the frame assembler (now and then the browser sends a frame's first
      // packets only, then a keyframe, no sequence number skipped: see docs/status.md).
      const video = stats.tracks.find((t) => t.kind === 'video')!;
      const inFile = frames(streamOf(await probe(out), 'video'));
      expect(inFile).toBe(video.frames.frames);
      expect(video.frames.frames + video.frames.framesDropped).toBe(sent.frames);
      expect(video.packets.lost).toBe(0);
      expect(await decodeErrors(out)).toBe('');
      const [flashes, beeps] = await Promise.all([flashTimes(out), beepOnsets(out)]);
      // Every flash drawn, but for a frame missing from the file (the browser's encoder dropped it, or
      // the assembler did), each of which takes at most one.
      expect(flashes.length).toBeLessThanOrEqual(sent.flashes);
      expect(flashes.length).toBeGreaterThanOrEqual(sent.flashes - (sent.drawn - inFile));
      expect(flashes.length).toBeGreaterThanOrEqual(3);
      const offsets = flashes.map((f) => f - beeps.reduce((best, b) => (Math.abs(b - f) < Math.abs(best - f) ? b : best), Infinity));
      console.log('Chromium A/V offsets (video - audio, ms):', offsets.map((o) => Math.round(o * 1000)).join(' '), 'synced by', stats.tracks.map((t) => `${t.kind} ${t.sync?.syncedBy} (${t.sync?.senderReports} reports)`).join(', '));
      for (const o of offsets) expect(Math.abs(o)).toBeLessThanOrEqual(1 / 30);
    } finally {
      await browser.close();
      await pages.close();
      await server.close();
    }
  }, 60_000);
});

/** A flash/beep test pattern as 720p H.264 baseline (4 Mb/s) + Opus, the codecs FFmpeg's WHIP muxer sends. */
async function whipInput(path: string, seconds: number): Promise<void> {
  const result = await createController(createPipelineConfig({
    live: false, source: { type: 'test', duration: seconds },
    encoding: { width: 1280, height: 720, fps: 30, videoCodec: 'h264', h264Profile: 'baseline', videoBitrateKbps: 4000, audioCodec: 'opus' },
    outputs: [{ path }],
  })).start();
  if (result.status !== 'COMPLETE') throw new Error(`test input: ${result.status} ${JSON.stringify(result.error)}`);
}

/** FFmpeg's WHIP client (node-av) publishing `input` at 1x, in its own process; what it sent. */
async function ffmpegPublish(input: string, url: string, args: string[]): Promise<{ video: number; audio: number; ms: number }> {
  const { stdout } = await exec(process.execPath, [join(import.meta.dirname, '../fixtures/ffmpeg-whip/publish.mjs'), input, url, ...args], { timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { video: number; audio: number; ms: number };
}

describe("a real WHIP client: FFmpeg's whip muxer (node-av) into avpipe serve, bursts absorbed by the live queues", () => {
  const input = join(dir, 'ffmpeg-whip-input.mp4');
  // Long enough for a 3 s stall at 2 s (its backlog then sent at once) and media after it, and no longer.
  const SECONDS = 7;

  it.each([
    { name: 'copy-start-burst', ext: 'mp4', mode: 'copy', args: ['--burst', '3'], what: 'H.264 + Opus copied into MP4, the first 3 s sent at once' },
    { name: 'transcode-start-burst', ext: 'webm', mode: 'transcode', args: ['--burst', '3'], what: 'H.264 made VP8 in WebM (Opus copied), the first 3 s sent at once' },
    { name: 'copy-stall', ext: 'mp4', mode: 'copy', args: ['--stall-at', '2', '--stall', '3'], what: 'copied into MP4, a 3 s stall at 2 s then its backlog at once' },
    { name: 'transcode-stall', ext: 'webm', mode: 'transcode', args: ['--stall-at', '2', '--stall', '3'], what: 'made VP8 in WebM, a 3 s stall at 2 s then its backlog at once' },
  ])('$what: every frame and packet recorded, zero drops, A/V within one frame', async ({ name, ext, mode, args }) => {
    if (!existsSync(input)) await whipInput(input, SECONDS);
    const outDir = join(dir, 'ffmpeg-whip');
    const server = await serveCli(outDir, ext);
    let results: ReturnType<typeof server.results> = [];
    let sent = { video: 0, audio: 0 };
    try {
      sent = await ffmpegPublish(input, `${server.base}/whip/${name}`, args);
      expect(sent).toMatchObject({ video: SECONDS * 30, audio: SECONDS * 50 + 1 });
      // FFmpeg's client sends DELETE when it closes: the session ends by itself.
      for (let i = 0; i < 200 && server.results().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      results = server.results();
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(results).toHaveLength(1);
    const result = results[0]!;
    expect(result.status, JSON.stringify(result.error)).toBe('COMPLETE');
    expect(result.tracks.find((t) => t.kind === 'video')?.mode).toBe(mode);
    // Nothing lost on the way in, nothing dropped by any queue: the source's outlets and the pipeline's.
    for (const t of result.source.tracks) {
      expect({ kind: t.kind, lost: t.packets.lost, dropped: t.queue?.dropped, framesDropped: t.frames.framesDropped }).toEqual({ kind: t.kind, lost: 0, dropped: 0, framesDropped: 0 });
    }
    for (const q of result.queues) expect({ queue: q.name, dropped: q.dropped }).toEqual({ queue: q.name, dropped: 0 });
    // Counted by an independent reader: every frame and every audio packet the client sent.
    const out = join(outDir, `${name}.${ext}`);
    const p = await probe(out);
    expect(frames(streamOf(p, 'video'))).toBe(sent.video);
    expect((await packetSpan(out, 'audio')).packets).toBe(sent.audio);
    expect(await decodeErrors(out)).toBe('');
    const [flashes, beeps] = await Promise.all([flashTimes(out), beepOnsets(out)]);
    expect(flashes.length).toBe(SECONDS);
    const offsets = flashes.map((f) => f - beeps.reduce((best, b) => (Math.abs(b - f) < Math.abs(best - f) ? b : best), Infinity));
    console.log(`FFmpeg WHIP ${name}: A/V offsets (video - audio, ms):`, offsets.map((o) => Math.round(o * 1000)).join(' '));
    for (const o of offsets) expect(Math.abs(o)).toBeLessThanOrEqual(1 / 30);
  }, 90_000);
});
