/** What every program does with its arguments: --help, clear config errors, exit codes. */
import { ConfigError, parseArgs, type Config, type ProgramSpec, type SettingName } from '../core/config';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Parses argv; prints help (exit 0) or the error with a hint (exit 2) and returns null then. */
export function configOrExit<N extends SettingName>(spec: ProgramSpec<N>, argv: readonly string[]): Config<N> | null {
  try {
    const parsed = parseArgs(spec, argv);
    if ('help' in parsed) {
      process.stdout.write(parsed.help + '\n');
      process.exitCode = EXIT_OK;
      return null;
    }
    return parsed.config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${spec.program}: ${err.message}\nTry '${spec.program} --help'.\n`);
    process.exitCode = EXIT_USAGE;
    return null;
  }
}
