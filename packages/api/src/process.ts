import { ConfigError, loadConfig, type Config } from './config.ts';

/** Process plumbing shared by the web server and the API-only server. */

/** Invalid configuration stops the process with one clear message, before anything starts. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
}

/** Runs `stop` once on SIGTERM or SIGINT, then exits 0. */
export function onShutdown(stop: (signal: string) => Promise<void>) {
  let closing = false;
  const handler = (signal: string) => {
    if (closing) return;
    closing = true;
    stop(signal).then(
      () => process.exit(0),
      (error) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('SIGINT', () => handler('SIGINT'));
}
