/**
 * The body every phase sends: a realistic small webhook (~350 bytes) without an `id`, so the
 * API generates a unique one per request and every accepted request becomes its own row.
 */
export const BENCH_SOURCE = 'bench';

export const benchBody = JSON.stringify({
  source: BENCH_SOURCE,
  type: 'order.created',
  data: {
    order: {
      id: 'ord_8f3a2c91',
      customer: { id: 'cus_1029', email: 'buyer@example.com', country: 'DE' },
      lines: [
        { sku: 'SKU-1001', qty: 2, unitPrice: 1999 },
        { sku: 'SKU-2002', qty: 1, unitPrice: 4999 },
      ],
      total: 8997,
      currency: 'EUR',
    },
    attempt: 1,
  },
});
