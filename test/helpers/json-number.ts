import fc from 'fast-check';

/**
 * The text of a JSON number, of any size and form: big integers (past 2^53 and 2^64), long
 * decimals, trailing zeros (`1.10`), exponents of either case and sign (`1e400`, `2.5E-3`).
 * `maxExponent` bounds the exponent's magnitude.
 */
export function jsonNumberText(options: { maxExponent?: number } = {}): fc.Arbitrary<string> {
  const digits = (min: number, max: number) =>
    fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
  const integer = fc.oneof(
    fc.constant('0'),
    fc.tuple(fc.constantFrom(...'123456789'), digits(0, 40)).map(([first, rest]) => first + rest),
  );
  const exponent = fc
    .tuple(
      fc.constantFrom('e', 'E'),
      fc.constantFrom('', '+', '-'),
      fc.integer({ min: 0, max: options.maxExponent ?? 500 }),
    )
    .map(([e, sign, n]) => `${e}${sign}${n}`);
  return fc
    .tuple(
      fc.constantFrom('', '-'),
      integer,
      fc.option(
        digits(1, 40).map((d) => `.${d}`),
        { nil: '' },
      ),
      fc.option(exponent, { nil: '' }),
    )
    .map((parts) => parts.join(''));
}
