import { createHash, timingSafeEqual } from 'node:crypto';
import { firstHeader } from '@app/channels/core';
import { ErrorCode, WorkgateError } from '@app/core';

/** The header Telegram sends setWebhook's `secret_token` back in, on every delivery. */
export const TELEGRAM_SECRET_HEADER = 'x-telegram-bot-api-secret-token';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Checks X-Telegram-Bot-Api-Secret-Token — the only authentication a webhook delivery
 * has: Telegram signs no body (fixtures README). The comparison is constant-time over
 * SHA-256 digests, so neither the content nor the length of the secret leaks through
 * timing. Throws 401 (missing / wrong); returns nothing when it matches.
 */
export function verifyTelegramSecretToken(
  headers: Record<string, string | string[] | undefined>,
  secretToken: string,
): void {
  const given = firstHeader(headers[TELEGRAM_SECRET_HEADER]);
  if (given === undefined || given === '') {
    throw new WorkgateError(
      ErrorCode.SignatureMissing,
      'The X-Telegram-Bot-Api-Secret-Token header is missing.',
    );
  }
  if (!timingSafeEqual(digest(given), digest(secretToken))) {
    throw new WorkgateError(
      ErrorCode.SignatureInvalid,
      'The X-Telegram-Bot-Api-Secret-Token header does not match the bot’s secret token.',
    );
  }
}
