import dns from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { parseCidr } from '@webhooks/config';

/**
 * Never a destination, whatever the allowed list says: cloud metadata services answer on a
 * link-local address (169.254.169.254), and a subscription URL must not reach them. `BlockList`
 * also matches the IPv4-mapped IPv6 forms (`::ffff:169.254.0.1`, `::ffff:a9fe:1`).
 */
const LINK_LOCAL_NETWORKS = ['169.254.0.0/16', 'fe80::/10'] as const;

/**
 * Also never a destination: the same metadata services reached at addresses that are not
 * link-local. AWS's instance metadata service answers on `fd00:ec2::254` over IPv6; and
 * 169.254.0.0/16 can be reached through the NAT64 well-known prefix (RFC 6052,
 * `64:ff9b::a9fe:a9fe`) and as a 6to4 address (RFC 3056, `2002:a9fe:a9fe::`).
 */
const METADATA_NETWORKS = ['fd00:ec2::254/128', '64:ff9b::a9fe:0/112', '2002:a9fe::/32'] as const;

/** A destination the policy refuses; the attempt fails without connecting. */
export class DestinationRefusedError extends Error {
  readonly code = 'DESTINATION_REFUSED';
  override name = 'DestinationRefusedError';
  /** The refused address (the first one, when a name resolved to several). */
  readonly address: string;

  constructor(address: string, message: string) {
    super(message);
    this.address = address;
  }
}

/** How `lookup` resolves names; `dns.lookup` outside tests. */
export type ResolveAll = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

export interface DestinationPolicyOptions {
  /**
   * CIDRs (`10.0.0.0/8`, `fd00::/8`, or a bare address) deliveries may go to; anything outside
   * is refused. Default: undefined, every address but link-local and metadata ones.
   */
  allowedNetworks?: readonly string[] | undefined;
  /** Resolves host names. Default `dns.lookup` (the system resolver, as node:http uses). */
  resolve?: ResolveAll;
}

/**
 * Where deliveries may go. The check is on the address actually connected to: `lookup` (for
 * node:http's `lookup` option) resolves, then connects only to permitted addresses, so a name
 * that resolves to a forbidden address is refused however it is spelt. Node skips `lookup` for
 * IP literals; `refusalForHost` covers those before connecting.
 */
export class DestinationPolicy {
  /** For node:http / node:net `lookup`: fails with `DestinationRefusedError` (code `DESTINATION_REFUSED`). */
  readonly lookup: LookupFunction;
  readonly #linkLocal = new BlockList();
  readonly #metadata = new BlockList();
  readonly #allowed: BlockList | undefined;
  readonly #allowedText: string;

  /** Throws a `TypeError` naming an entry of `allowedNetworks` that is not a CIDR. */
  constructor({ allowedNetworks, resolve = dns.lookup }: DestinationPolicyOptions = {}) {
    for (const network of LINK_LOCAL_NETWORKS) addNetwork(this.#linkLocal, network);
    for (const network of METADATA_NETWORKS) addNetwork(this.#metadata, network);
    if (allowedNetworks === undefined) {
      this.#allowed = undefined;
      this.#allowedText = '';
    } else {
      this.#allowed = new BlockList();
      for (const network of allowedNetworks) addNetwork(this.#allowed, network);
      this.#allowedText = allowedNetworks.join(', ');
    }
    this.lookup = (hostname, options, callback) => {
      resolve(hostname, { ...options, all: true }, (err, addresses) => {
        if (err !== null) {
          callback(err, options.all === true ? [] : '');
          return;
        }
        const permitted: dns.LookupAddress[] = [];
        let refused: { address: string; why: string } | undefined;
        for (const entry of addresses) {
          const why = this.refusal(entry.address);
          if (why === undefined) permitted.push(entry);
          else refused ??= { address: entry.address, why };
        }
        const first = permitted[0];
        if (first === undefined) {
          // No address and no error: fail the way the system resolver does for an unknown name.
          const error =
            refused === undefined
              ? Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
                  code: 'ENOTFOUND',
                })
              : new DestinationRefusedError(
                  refused.address,
                  `${hostname} resolves to ${refused.address}, ${refused.why}`,
                );
          callback(error, options.all === true ? [] : '');
          return;
        }
        if (options.all === true) callback(null, permitted);
        else callback(null, first.address, first.family);
      });
    };
  }

  /** Why a delivery may not connect to the IP `address`, or undefined when it may. */
  refusal(address: string): string | undefined {
    const family = isIP(address);
    if (family === 0) return 'not an IP address';
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (this.#linkLocal.check(address, type)) {
      return `a link-local address (${LINK_LOCAL_NETWORKS.join(', ')}), never a delivery destination`;
    }
    if (this.#metadata.check(address, type)) {
      return `a cloud metadata address (${METADATA_NETWORKS.join(', ')}), never a delivery destination`;
    }
    if (this.#allowed !== undefined && !this.#allowed.check(address, type)) {
      return `outside the allowed networks (${this.#allowedText})`;
    }
    return undefined;
  }

  /**
   * For a URL host that is an IP literal (`169.254.169.254`, `[::1]`): the error to fail with
   * before connecting, or undefined. Host names return undefined: `lookup` checks what they
   * resolve to.
   */
  refusalForHost(host: string): DestinationRefusedError | undefined {
    const address = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    if (isIP(address) === 0) return undefined;
    const why = this.refusal(address);
    return why === undefined
      ? undefined
      : new DestinationRefusedError(address, `${address} is ${why}`);
  }
}

function addNetwork(list: BlockList, text: string): void {
  const cidr = parseCidr(text);
  if (cidr === undefined) {
    throw new TypeError(`not a CIDR such as 10.0.0.0/8 or fd00::/8: "${text}"`);
  }
  list.addSubnet(cidr.address, cidr.prefix, cidr.family);
}
