import { createHash } from 'node:crypto';
import { type AppConfig } from '@app/config';

/**
 * The secrets button tokens are signed and verified with: `chat.buttonSecrets`, else
 * WORKGATE_BUTTON_SECRET. Without either, a development secret derived from the
 * database URL, so the gateway (which verifies) and the worker (which signs) agree
 * without setup on one machine — anyone who knows the URL could forge a button, so
 * the gateway logs a warning at start and production must set one.
 */
export function buttonSecrets(config: Pick<AppConfig, 'chat' | 'env'>): string[] {
  if (config.chat.buttonSecrets.length) return config.chat.buttonSecrets;
  const fromEnv = config.env.WORKGATE_BUTTON_SECRET;
  if (fromEnv) return [fromEnv];
  return [
    createHash('sha256').update(`workgate-dev-buttons:${config.env.DATABASE_URL}`).digest('hex'),
  ];
}

/** True when buttons are signed with the development fallback (warn about it). */
export function usesDevButtonSecret(config: Pick<AppConfig, 'chat' | 'env'>): boolean {
  return config.chat.buttonSecrets.length === 0 && !config.env.WORKGATE_BUTTON_SECRET;
}
