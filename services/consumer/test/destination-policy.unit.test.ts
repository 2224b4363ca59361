import type { LookupAddress, LookupOptions } from 'node:dns';
import { describe, expect, it } from 'vitest';
import {
  DestinationPolicy,
  DestinationRefusedError,
  type ResolveAll,
} from '../src/delivery/destination-policy.js';

const LINK_LOCAL = [
  '169.254.169.254',
  '169.254.0.1',
  'fe80::1',
  'febf:ffff::1',
  'fe80::1%eth0',
  '::ffff:169.254.169.254',
  '::ffff:a9fe:a9fe',
  '0:0:0:0:0:ffff:a9fe:1',
];

/** A resolver answering every name with `addresses`, as `dns.lookup` would with `all: true`. */
function resolvingTo(...addresses: string[]): ResolveAll {
  return (_hostname, _options, callback) => {
    const answer: LookupAddress[] = addresses.map((address) => ({
      address,
      family: address.includes(':') ? 6 : 4,
    }));
    queueMicrotask(() => callback(null, answer));
  };
}

/** What `policy.lookup` answers for `hostname`: an error, or the addresses it lets node connect to. */
function lookUp(
  policy: DestinationPolicy,
  hostname: string,
  options: LookupOptions,
): Promise<{ error: NodeJS.ErrnoException | null; address: unknown; family?: number }> {
  return new Promise((resolve) => {
    policy.lookup(hostname, options, (error, address, family) =>
      resolve(family === undefined ? { error, address } : { error, address, family }),
    );
  });
}

describe('DestinationPolicy without an allowed list', () => {
  const policy = new DestinationPolicy();

  it('refuses link-local addresses, IPv4-mapped IPv6 forms and zones included', () => {
    for (const address of LINK_LOCAL) {
      expect(policy.refusal(address), address).toMatch(/link-local/);
    }
  });

  it('refuses metadata addresses that are not link-local: AWS over IPv6, NAT64 and 6to4 forms of 169.254/16', () => {
    for (const address of [
      'fd00:ec2::254',
      'fd00:0ec2:0000:0000:0000:0000:0000:0254',
      '64:ff9b::a9fe:a9fe',
      '64:ff9b::169.254.169.254',
      '2002:a9fe:a9fe::1',
    ]) {
      expect(policy.refusal(address), address).toMatch(/cloud metadata address/);
    }
    // Their neighbours are ordinary private or global addresses.
    for (const address of ['fd00:ec2::253', '64:ff9b::a9ff:1', '2002:a9ff::1']) {
      expect(policy.refusal(address), address).toBeUndefined();
    }
  });

  it('lets every other address through', () => {
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '203.0.113.9',
      '::1',
      'fec0::1',
      '169.255.0.1',
    ]) {
      expect(policy.refusal(address), address).toBeUndefined();
    }
  });

  it('refuses IP-literal hosts before any lookup, and leaves names to the lookup', () => {
    const refused = policy.refusalForHost('[::ffff:a9fe:a9fe]');
    expect(refused).toBeInstanceOf(DestinationRefusedError);
    expect(refused).toMatchObject({ code: 'DESTINATION_REFUSED', address: '::ffff:a9fe:a9fe' });
    expect(refused?.message).toMatch(/^::ffff:a9fe:a9fe is a link-local address/);
    expect(policy.refusalForHost('169.254.169.254')?.code).toBe('DESTINATION_REFUSED');
    expect(policy.refusalForHost('[::1]')).toBeUndefined();
    expect(policy.refusalForHost('metadata.internal')).toBeUndefined();
  });
});

describe('DestinationPolicy with an allowed list', () => {
  const policy = new DestinationPolicy({ allowedNetworks: ['10.0.0.0/8', 'fd00::/8'] });

  it('lets through addresses inside it, IPv4-mapped forms included', () => {
    for (const address of ['10.0.0.1', '10.255.255.255', 'fd12::1', '::ffff:10.1.2.3']) {
      expect(policy.refusal(address), address).toBeUndefined();
    }
  });

  it('refuses addresses outside it, naming the list', () => {
    for (const address of ['127.0.0.1', '11.0.0.1', '::1', '::ffff:127.0.0.1']) {
      expect(policy.refusal(address), address).toBe(
        'outside the allowed networks (10.0.0.0/8, fd00::/8)',
      );
    }
  });

  it('still refuses link-local addresses when the list covers them', () => {
    const everything = new DestinationPolicy({ allowedNetworks: ['0.0.0.0/0', '::/0'] });
    for (const address of LINK_LOCAL) {
      expect(everything.refusal(address), address).toMatch(/link-local/);
    }
    expect(everything.refusal('192.0.2.1')).toBeUndefined();
  });

  it('fails to build from an entry that is not a CIDR, naming it', () => {
    expect(() => new DestinationPolicy({ allowedNetworks: ['10.0.0.0/8', '10.0.0.0/40'] })).toThrow(
      '"10.0.0.0/40"',
    );
  });
});

describe('DestinationPolicy.lookup (the check on the resolved address)', () => {
  it('refuses a name resolving to a link-local address, naming the address and why', async () => {
    const policy = new DestinationPolicy({ resolve: resolvingTo('169.254.169.254') });
    const { error } = await lookUp(policy, 'innocent.example', { all: true });
    expect(error).toBeInstanceOf(DestinationRefusedError);
    expect(error?.code).toBe('DESTINATION_REFUSED');
    expect(error?.message).toBe(
      'innocent.example resolves to 169.254.169.254, a link-local address (169.254.0.0/16, fe80::/10), never a delivery destination',
    );
  });

  it('refuses a name resolving outside the allowed list', async () => {
    const policy = new DestinationPolicy({
      allowedNetworks: ['10.0.0.0/8'],
      resolve: resolvingTo('127.0.0.1', '::1'),
    });
    const { error } = await lookUp(policy, 'localhost', {});
    expect(error?.message).toBe(
      'localhost resolves to 127.0.0.1, outside the allowed networks (10.0.0.0/8)',
    );
  });

  it('hands node only the permitted addresses of a name, in either callback form', async () => {
    const policy = new DestinationPolicy({
      allowedNetworks: ['10.0.0.0/8'],
      resolve: resolvingTo('169.254.169.254', '127.0.0.1', '10.0.0.7', '10.0.0.8'),
    });
    expect(await lookUp(policy, 'mixed.example', { all: true })).toEqual({
      error: null,
      address: [
        { address: '10.0.0.7', family: 4 },
        { address: '10.0.0.8', family: 4 },
      ],
    });
    expect(await lookUp(policy, 'mixed.example', {})).toEqual({
      error: null,
      address: '10.0.0.7',
      family: 4,
    });
  });

  it('passes resolver failures on unchanged', async () => {
    const failure = Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), {
      code: 'ENOTFOUND',
    });
    const policy = new DestinationPolicy({
      resolve: (_hostname, _options, callback) => callback(failure, []),
    });
    expect((await lookUp(policy, 'nowhere.invalid', {})).error).toBe(failure);
    const empty = new DestinationPolicy({ resolve: resolvingTo() });
    expect((await lookUp(empty, 'empty.example', { all: true })).error?.code).toBe('ENOTFOUND');
  });
});
