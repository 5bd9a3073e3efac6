/**
 * SDP fixes an ingest endpoint needs for real publishers (RFC 8843 BUNDLE, RFC 8839 candidates). Pure
 * string functions; line endings are kept as CRLF.
 */

/** The lines of an SDP, without their endings. */
function lines(sdp: string): string[] {
  return sdp.split(/\r?\n/).filter((l, i, all) => l.length > 0 || i < all.length - 1);
}

/**
 * Marks `a=bundle-only` m-lines as accepted: webrtcbin and browsers offer every m-line after the first
 * with port 0 and `a=bundle-only`, which an endpoint without BUNDLE awareness (werift) reads as
 * rejected. The port becomes 9, the discard port RFC 8840 uses for "no address yet".
 */
export function acceptBundleOnly(sdp: string): string {
  const out = lines(sdp);
  let mline = -1;
  for (let i = 0; i < out.length; i++) {
    const l = out[i]!;
    if (l.startsWith('m=')) mline = i;
    else if (l === 'a=bundle-only' && mline >= 0) out[mline] = out[mline]!.replace(/^(m=\S+) 0 /, '$1 9 ');
  }
  return `${out.join('\r\n')}\r\n`;
}

/** The host address of an `a=candidate` line (or a bare candidate string), or undefined. */
export function candidateAddress(candidate: string): string | undefined {
  const parts = candidate.replace(/^a=/, '').replace(/^candidate:/, '').split(' ');
  return parts[4];
}

/** Keeps only the UDP candidates whose address is in `hosts`. */
export function keepCandidates(sdp: string, hosts: readonly string[]): string {
  const out = lines(sdp).filter((l) => {
    if (!l.startsWith('a=candidate:')) return true;
    const parts = l.split(' ');
    return parts[2]?.toLowerCase() === 'udp' && hosts.includes(parts[4] ?? '');
  });
  return `${out.join('\r\n')}\r\n`;
}

/** The `a=candidate` lines of an SDP fragment (RFC 8840 trickle), with the mid each one follows. */
export function candidatesOf(fragment: string): { mid: string | undefined; candidate: string }[] {
  const out: { mid: string | undefined; candidate: string }[] = [];
  let mid: string | undefined;
  for (const l of lines(fragment)) {
    if (l.startsWith('a=mid:')) mid = l.slice(6);
    else if (l.startsWith('a=candidate:')) out.push({ mid, candidate: l.slice(2) });
  }
  return out;
}
