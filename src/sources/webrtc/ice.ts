import type { PeerConfig } from 'werift';

/**
 * werift's ICE settings for a peer that may use only `hosts` (e.g. `['127.0.0.1']`): those addresses
 * gathered (werift leaves loopback out by default), no IPv6, candidate pairs and STUN answers only
 * towards them. werift falls back to a public STUN server when given none, so one on the first host is
 * named, and its gathering timeout is made short since nothing answers there.
 */
export function iceConfigFor(hosts: readonly string[]): Partial<PeerConfig> {
  return {
    iceServers: [{ urls: `stun:${hosts[0]}:3478` }], iceStunGatherTimeout: 0.05,
    iceUseIpv4: false, iceUseIpv6: false,
    iceAdditionalHostAddresses: [...hosts],
    iceInterfaceAddresses: { udp4: hosts[0] } as never,
    iceFilterCandidatePair: (pair) => hosts.includes(pair.remoteCandidate.host),
    iceFilterStunResponse: (_message, addr) => hosts.includes(addr[0]),
  };
}
