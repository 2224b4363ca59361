import type { Options } from 'amqplib';

/**
 * The AMQP properties this project reads and writes. Its own types rather than amqplib's, so
 * that no code outside this package depends on the driver's.
 */
export interface MessageProperties {
  contentType?: string | undefined;
  contentEncoding?: string | undefined;
  /** The event id: the consumer dedupes by it, and a returned message is recognised by it. */
  messageId?: string | undefined;
  correlationId?: string | undefined;
  /** Whole seconds since the epoch, as AMQP carries it. */
  timestamp?: number | undefined;
  type?: string | undefined;
  appId?: string | undefined;
  headers?: Record<string, unknown> | undefined;
  /** 2 for a persistent message; every message this project publishes is. */
  deliveryMode?: number | undefined;
}

/** What a message is published with; persistence is always added (and `mandatory` by default). */
export type PublishProperties = Omit<MessageProperties, 'deliveryMode'>;

/** The properties a message keeps when it moves to another queue; headers are the caller's. */
const CARRIED = [
  'contentType',
  'contentEncoding',
  'messageId',
  'correlationId',
  'timestamp',
  'type',
  'appId',
] as const;

/**
 * Properties for republishing a message elsewhere (a retry queue, the DLQ, back from the DLQ):
 * its own properties, with `headers` replacing its headers. Unset ones are left out, since
 * amqplib encodes `undefined` poorly.
 */
export function republishProperties(
  original: MessageProperties,
  headers: Record<string, unknown>,
): PublishProperties {
  const properties: PublishProperties = { headers };
  for (const key of CARRIED) {
    const value = original[key];
    if (value !== undefined) Object.assign(properties, { [key]: value });
  }
  return properties;
}

/** The properties as amqplib takes them: unset ones left out, since it encodes `undefined` poorly. */
export function toAmqpProperties(properties: PublishProperties): Options.Publish {
  return Object.fromEntries(
    Object.entries(properties).filter(([, value]) => value !== undefined),
  ) as Options.Publish;
}

/** Copies amqplib's properties object into ours (every field it declares is `any`). */
export function fromAmqpProperties(p: {
  contentType?: unknown;
  contentEncoding?: unknown;
  messageId?: unknown;
  correlationId?: unknown;
  timestamp?: unknown;
  type?: unknown;
  appId?: unknown;
  headers?: unknown;
  deliveryMode?: unknown;
}): MessageProperties {
  return {
    contentType: stringOrUndefined(p.contentType),
    contentEncoding: stringOrUndefined(p.contentEncoding),
    messageId: stringOrUndefined(p.messageId),
    correlationId: stringOrUndefined(p.correlationId),
    timestamp: typeof p.timestamp === 'number' ? p.timestamp : undefined,
    type: stringOrUndefined(p.type),
    appId: stringOrUndefined(p.appId),
    headers: isRecord(p.headers) ? p.headers : {},
    deliveryMode: typeof p.deliveryMode === 'number' ? p.deliveryMode : undefined,
  };
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
