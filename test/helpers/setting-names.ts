/** The part of a zod schema's definition this walks (zod is not a dependency of the tests). */
interface SchemaDef {
  type: string;
  shape?: Record<string, unknown>;
  left?: { def: SchemaDef };
  right?: { def: SchemaDef };
}

/**
 * The environment variables a settings schema reads: the keys of its objects, through the
 * intersections (`LogEnv.and(AmqpEnv)`) that compose a service's config.
 */
export function settingNames(schema: { def: unknown }): string[] {
  const def = schema.def as SchemaDef;
  if (def.type === 'object' && def.shape !== undefined) return Object.keys(def.shape);
  if (def.type === 'intersection' && def.left !== undefined && def.right !== undefined) {
    return [...settingNames(def.left), ...settingNames(def.right)];
  }
  throw new Error(`not a settings schema: ${def.type}`);
}
