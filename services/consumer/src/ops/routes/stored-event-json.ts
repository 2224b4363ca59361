import type { StoredEvent } from '@webhooks/db';

/**
 * A stored event as JSON text, its `data` spliced in as `jsonb` wrote it: going through a
 * JavaScript object would round every number to a double (`820982911946154508` would read
 * `820982911946154500`).
 */
export function storedEventJson(event: StoredEvent): string {
  const { dataJson, ...fields } = event;
  const head = JSON.stringify({
    id: fields.id,
    eventId: fields.eventId,
    source: fields.source,
    type: fields.type,
  });
  const tail = JSON.stringify({
    timestamp: fields.timestamp,
    createdAt: fields.createdAt,
    requestId: fields.requestId,
  });
  // `{"id":…,"type":"…"` + `,"data":` + data + `,` + `"timestamp":…}`: same keys, same order.
  return `${head.slice(0, -1)},"data":${dataJson},${tail.slice(1)}`;
}

/** A page of `GET /events` as JSON text. */
export function eventsPageJson(items: readonly StoredEvent[], nextCursor: string | null): string {
  return `{"items":[${items.map(storedEventJson).join(',')}],"nextCursor":${JSON.stringify(nextCursor)}}`;
}
