/** H.264 bitstream helpers: Annex B (start codes) to AVCC (length prefixes) and the avcC record. */

/** The NAL units of an Annex B access unit (start codes removed). */
export function splitAnnexB(b: Uint8Array): Uint8Array[] {
  const starts: { at: number; len: number }[] = [];
  for (let i = 0; i + 2 < b.length; i++) {
    if (b[i] === 0 && b[i + 1] === 0 && b[i + 2] === 1) {
      starts.push({ at: i + 3, len: i > 0 && b[i - 1] === 0 ? 4 : 3 });
      i += 2;
    }
  }
  return starts.map((s, k) => {
    const next = starts[k + 1];
    return b.subarray(s.at, next === undefined ? b.length : next.at - next.len);
  });
}

/** An Annex B access unit as AVCC: each NAL unit behind a 4-byte length (access unit delimiters left out). */
export function annexBToAvcc(b: Uint8Array): Uint8Array {
  const nals = splitAnnexB(b).filter((n) => n.length > 0 && ((n[0] ?? 0) & 0x1f) !== 9);
  const out = new Uint8Array(nals.reduce((s, n) => s + 4 + n.length, 0));
  let p = 0;
  for (const n of nals) {
    new DataView(out.buffer).setUint32(p, n.length);
    out.set(n, p + 4);
    p += 4 + n.length;
  }
  return out;
}

/** The avcC record (ISO 14496-15) from the SPS and PPS of an Annex B keyframe; undefined without them. */
export function avcConfigFromAnnexB(b: Uint8Array): Uint8Array | undefined {
  const nals = splitAnnexB(b);
  const sps = nals.find((n) => ((n[0] ?? 0) & 0x1f) === 7);
  const pps = nals.find((n) => ((n[0] ?? 0) & 0x1f) === 8);
  if (sps === undefined || pps === undefined || sps.length < 4) return undefined;
  const out = new Uint8Array(11 + sps.length + pps.length);
  out.set([1, sps[1]!, sps[2]!, sps[3]!, 0xff, 0xe1, sps.length >> 8, sps.length & 0xff]);
  out.set(sps, 8);
  out.set([1, pps.length >> 8, pps.length & 0xff], 8 + sps.length);
  out.set(pps, 11 + sps.length);
  return out;
}
