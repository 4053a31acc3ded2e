import { z } from 'zod';
import { durationMs } from './config-primitives';

/** What every chat channel shares: `chat.*` (docs/conversations.md). */
export const chatConfigSchema = z
  .strictObject({
    /**
     * HMAC secrets for button tokens: the first signs, every one verifies (rotation).
     * Empty: WORKGATE_BUTTON_SECRET, else a random secret the first gateway or worker
     * generates and keeps in the ledger (InstallationSecret `buttons`), shared by all.
     */
    buttonSecrets: z
      .array(z.string().min(16, 'button secrets need 16+ characters'))
      .default([])
      .describe(
        'HMAC secrets for button tokens: the first signs, every one verifies (rotation). Empty: WORKGATE_BUTTON_SECRET, else a random secret the first gateway or worker generates and keeps in the ledger, shared by all.',
      ),
    /**
     * One person, several channel identities: a wait that names any of them may be
     * answered by all of them (e.g. `ana: [telegram:111, slack:T1:U1]`).
     */
    identities: z
      .record(z.string().min(1), z.array(z.string().min(1)).min(1))
      .default({})
      .describe(
        'One person, several channel identities (`ana: [telegram:111, slack:T1:U1]`): a wait that names any of them may be answered by all of them.',
      ),
    /**
     * Inbound messages per conversation: a person (or a script) flooding a chat would
     * otherwise open works and fill inboxes as fast as they type.
     */
    rateLimit: z
      .strictObject({
        messages: z
          .number()
          .int()
          .nonnegative()
          .default(20)
          .describe(
            'Messages one conversation may send per `window`; past that they are recorded as dropped and not acted on. 0: no limit.',
          ),
        window: durationMs.default(60_000).describe('The window the count is over.'),
        reply: z
          .string()
          .min(1)
          .default(
            "You're sending messages faster than I can take them. Please wait a moment — I'm not acting on the ones sent just now.",
          )
          .describe('Said once when a conversation goes over the limit (privately on Slack).'),
      })
      .prefault({})
      .describe(
        'Inbound messages per conversation (chat only; button presses and commands are not limited).',
      ),
  })
  .prefault({});
