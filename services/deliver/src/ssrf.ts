import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** An outbound request was refused by the SSRF guard; never retried. */
export class BlockedAddressError extends Error {
  override name = 'BlockedAddressError';
  /** The host as written in the endpoint URL. */
  readonly host: string;
  /** The address that was refused. */
  readonly address: string;
  constructor(host: string, address: string) {
    super(`${host} resolves to ${address}, which is not a public address (allow-list it with HS_DELIVER_ALLOW_CIDRS)`);
    this.host = host;
    this.address = address;
  }
}

/** One resolved address, as `dns.lookup(host, { all: true })` answers. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to every address; rejects with a `code` (ENOTFOUND, EAI_AGAIN, …) like `dns.lookup`. */
export type Resolver = (host: string) => Promise<readonly ResolvedAddress[]>;

/** `dns.lookup(host, { all: true })`: what the OS resolver (and so an unguarded client) would use. */
export const systemResolver: Resolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

// Not public: loopback, "this network", private, CGNAT, link-local (which
// holds the 169.254.169.254 metadata address), IETF/benchmark/documentation
// ranges, multicast and reserved; IPv6 loopback, unspecified, IPv4-compatible,
// link-local, unique-local (fd00:ec2::254, AWS's IPv6 metadata address, is in
// fc00::/7), site-local and multicast. IPv4-mapped IPv6 is unwrapped first.
const DENIED_V4 = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
];
const DENIED_V6 = ['::/96', 'fe80::/10', 'fec0::/10', 'fc00::/7', 'ff00::/8'];

/** The ranges the guard refuses by default, for docs and tests. */
export const DENIED_CIDRS: readonly string[] = Object.freeze([...DENIED_V4, ...DENIED_V6]);

/**
 * Parses `a.b.c.d/n` and `x:y::/n` (a bare address means a single host) into
 * a BlockList. Throws an Error naming the first bad entry.
 */
export function parseCidrs(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', bits, ...rest] = cidr.split('/');
    const family = isIP(address);
    const max = family === 6 ? 128 : 32;
    const prefix = bits === undefined ? max : Number(bits);
    if (family === 0 || rest.length > 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > max || bits === '') {
      throw new Error(`"${cidr}" is not a CIDR (a.b.c.d/n or an IPv6 prefix)`);
    }
    list.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** `::ffff:10.0.0.1` / `::ffff:a00:1` → `10.0.0.1`; any other address unchanged. Pure. */
export function unmapIPv4(address: string): string {
  const lower = address.toLowerCase();
  const dotted = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted?.[1] !== undefined) return dotted[1];
  const hex = /^(?:0{0,4}:){0,5}:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex?.[1] !== undefined && hex[2] !== undefined) {
    const hi = Number.parseInt(hex[1], 16);
    const lo = Number.parseInt(hex[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return address;
}

/**
 * Decides which addresses deliver may connect to: every address outside
 * {@link DENIED_CIDRS}, plus those inside the allow-list.
 */
export class AddressGuard {
  readonly #denied = parseCidrs(DENIED_CIDRS);
  readonly #allowed: BlockList;
  readonly #resolve: Resolver;

  /** Throws when an allow-list entry is not a CIDR. */
  constructor(allowCidrs: readonly string[] = [], resolve: Resolver = systemResolver) {
    this.#allowed = parseCidrs(allowCidrs);
    this.#resolve = resolve;
  }

  /** Whether a literal IP address may be connected to. A string that is not an IP address is refused. Pure. */
  allows(address: string): boolean {
    const plain = unmapIPv4(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
    const family = isIP(plain);
    if (family === 0) return false;
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (this.#allowed.check(plain, type)) return true;
    return !this.#denied.check(plain, type);
  }

  /**
   * Resolves `host` (a literal IP is taken as is) and returns the address to
   * connect to: the first one, once every answer is allowed. Rejects with
   * {@link BlockedAddressError} when any answer is refused (a name that
   * resolves to one public and one private address is refused: the client
   * could be steered to either), and with the resolver's error (code
   * ENOTFOUND, …) when it cannot resolve.
   */
  async vet(host: string): Promise<ResolvedAddress> {
    const bare = host.replace(/^\[|\]$/g, '');
    const literal = isIP(bare);
    const answers: readonly ResolvedAddress[] =
      literal !== 0 ? [{ address: bare, family: literal === 6 ? 6 : 4 }] : await this.#resolve(bare);
    if (answers.length === 0) throw Object.assign(new Error(`${host} has no addresses`), { code: 'ENOTFOUND' });
    for (const a of answers) if (!this.allows(a.address)) throw new BlockedAddressError(host, a.address);
    return answers[0] as ResolvedAddress;
  }
}
