import { parseExactJson, stringifyExactJson } from '@webhooks/contracts';
import { benchBody } from './lib/payload.js';

// `pnpm tsx --conditions=source bench/exact-json.ts`: what keeping every digit costs per
// request, against JSON.parse + JSON.stringify, for the bench's body (no number a double
// would alter), that body as the consumer reads it from the queue (with the times the API adds),
// a Shopify-style order (64-bit ids, prices such as 19.90) and a large one.

/** A Shopify-style order of about 3 KB: 64-bit ids as numbers, decimals with trailing zeros. */
function shopifyOrder(lines: number): string {
  const line = (i: number) =>
    `{"id":${866550311766439020n + BigInt(i)},"variant_id":${808950810 + i},"title":"IPod Nano - 8gb","quantity":1,"price":"199.00","grams":200,"weight":1.10,"tax_lines":[{"price":"11.94","rate":0.06,"title":"State Tax"}]}`;
  return `{"id":"shop-1","source":"shopify","type":"orders/create","data":{"id":820982911946154508,"email":"bob.norman@mail.example.com","total_price":598.94,"subtotal_price":597.00,"total_weight":0,"currency":"USD","line_items":[${Array.from({ length: lines }, (_, i) => line(i)).join(',')}]}}`;
}

/** The bench body as the queue message the consumer decodes: id and times added by the API. */
const queueMessage = JSON.stringify({
  id: '01938a4e-7c1d-7b3e-9f2a-4c5d6e7f8091',
  ...JSON.parse(benchBody),
  timestamp: '2026-12-02T05:14:06.892Z',
  receivedAt: '2026-12-02T05:14:06.893Z',
});

const cases = [
  { name: 'bench body (~350 B)', text: benchBody },
  { name: 'queue message (~450 B)', text: queueMessage },
  { name: 'Shopify order (~3 KB)', text: shopifyOrder(12) },
  { name: 'Shopify order (~500 KB)', text: shopifyOrder(2400) },
];

function perOpMicros(run: () => void, minMs = 400): number {
  for (let i = 0; i < 50; i++) run();
  let ops = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    run();
    ops += 1;
  }
  return ((performance.now() - start) * 1000) / ops;
}

for (const { name, text } of cases) {
  const native = perOpMicros(() => JSON.stringify(JSON.parse(text)));
  const exact = perOpMicros(() => stringifyExactJson(parseExactJson(text)));
  process.stdout.write(
    `${name.padEnd(26)} bytes=${String(text.length).padStart(7)}  native=${native.toFixed(1).padStart(8)} µs  exact=${exact.toFixed(1).padStart(8)} µs  ×${(exact / native).toFixed(2)}\n`,
  );
}
