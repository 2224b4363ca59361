import { DatabaseEnv, LogEnv, MigrationsEnv } from '@webhooks/config';

/** Every setting of the migration runner (see `.env.example`). */
export const MigrateConfig = LogEnv.and(DatabaseEnv.pick({ DATABASE_URL: true })).and(
  MigrationsEnv,
);
export type MigrateConfig = ReturnType<typeof MigrateConfig.parse>;
