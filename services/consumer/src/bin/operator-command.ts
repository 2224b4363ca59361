import { type ParseArgsConfig, parseArgs } from 'node:util';
import dotenv from 'dotenv';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** The values of `options` and `--help`, typed from their declarations. */
type OptionValues<O extends OptionsConfig> = ReturnType<
  typeof parseArgs<{ options: O & { help: { type: 'boolean' } }; strict: true }>
>['values'];

export interface OperatorCommandOptions<O extends OptionsConfig> {
  /** Printed for `--help`, and after any failure. */
  usage: string;
  /** The command's own options; `--help` is added. */
  options: O;
  /** The work. A throw fails the command with its message. */
  run: (values: OptionValues<O>) => Promise<void>;
}

/**
 * What each operator command (`pnpm dlq:replay`, `rejected:replay`, `retention`) does around
 * its work: reads `.env`, parses its arguments strictly, prints the usage for `--help`, and on
 * any failure prints the message and the usage. Resolves with the exit code for the process.
 */
export async function runOperatorCommand<O extends OptionsConfig>(
  command: OperatorCommandOptions<O>,
): Promise<number> {
  dotenv.config({ quiet: true });
  try {
    const options: OptionsConfig = { ...command.options, help: { type: 'boolean' } };
    const { values } = parseArgs({ options, strict: true });
    if (values.help === true) {
      process.stdout.write(`${command.usage}\n`);
      return 0;
    }
    await command.run(values as OptionValues<O>);
    return 0;
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    console.error(command.usage);
    return 1;
  }
}
