import { type AppConfig } from '@app/config';

/**
 * The secrets button tokens are signed and verified with: `chat.buttonSecrets`, else
 * WORKGATE_BUTTON_SECRET. The apps fill `chat.buttonSecrets` at start when neither is
 * set, with a random secret kept in the ledger (provisionButtonSecret in libs/ledger),
 * so there is no guessable fallback. Empty here means "not provisioned": nothing
 * verifies, and signing refuses (see signButtonToken).
 */
export function buttonSecrets(config: Pick<AppConfig, 'chat' | 'env'>): string[] {
  if (config.chat.buttonSecrets.length) return config.chat.buttonSecrets;
  const fromEnv = config.env.WORKGATE_BUTTON_SECRET;
  return fromEnv ? [fromEnv] : [];
}
