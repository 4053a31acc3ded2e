import { z } from 'zod';
import { assertStorableJson, decodeUtf8, parseJsonBody } from '@app/channels/core';
import { ErrorCode, WorkgateError } from '@app/core';

/**
 * The parts of Slack's inbound payloads workgate reads, validated with zod. Objects are
 * loose: Slack adds fields all the time and the whole payload is kept as `raw` anyway.
 * Shapes: docs.slack.dev/apis/events-api, /reference/events/{app_mention,message},
 * /reference/interaction-payloads/block_actions-payload (and test/fixtures/slack).
 */

export const slackInnerEventSchema = z.looseObject({
  type: z.string(),
  subtype: z.string().optional(),
  user: z.string().optional(),
  /** Slack Connect: the team of the user, when it differs from the receiving team. */
  user_team: z.string().optional(),
  team: z.string().optional(),
  bot_id: z.string().optional(),
  text: z.string().optional(),
  ts: z.string().optional(),
  thread_ts: z.string().optional(),
  channel: z.string().optional(),
  channel_type: z.string().optional(),
});
export type SlackInnerEvent = z.infer<typeof slackInnerEventSchema>;

export const slackEventEnvelopeSchema = z.looseObject({
  type: z.literal('event_callback'),
  team_id: z.string().min(1),
  event_id: z.string().min(1),
  event_time: z.number().optional(),
  event: slackInnerEventSchema,
  authorizations: z
    .array(
      z.looseObject({
        team_id: z.string().nullish(),
        user_id: z.string().nullish(),
        is_bot: z.boolean().optional(),
      }),
    )
    .optional(),
});
export type SlackEventEnvelope = z.infer<typeof slackEventEnvelopeSchema>;

const urlVerificationSchema = z.looseObject({
  type: z.literal('url_verification'),
  challenge: z.string(),
});

export const slackBlockActionsSchema = z.looseObject({
  type: z.literal('block_actions'),
  team: z.looseObject({ id: z.string().min(1) }).nullish(),
  user: z.looseObject({
    id: z.string().min(1),
    name: z.string().optional(),
    username: z.string().optional(),
    team_id: z.string().optional(),
  }),
  channel: z.looseObject({ id: z.string().min(1) }).nullish(),
  container: z.looseObject({
    type: z.string(),
    message_ts: z.string().optional(),
    channel_id: z.string().optional(),
    thread_ts: z.string().optional(),
    is_ephemeral: z.boolean().optional(),
  }),
  message: z
    .looseObject({
      ts: z.string(),
      thread_ts: z.string().optional(),
      text: z.string().optional(),
    })
    .nullish(),
  actions: z.array(
    z.looseObject({
      type: z.string(),
      action_id: z.string(),
      block_id: z.string().optional(),
      value: z.string().optional(),
      text: z.looseObject({ text: z.string() }).optional(),
      action_ts: z.string(),
    }),
  ),
});
export type SlackBlockActions = z.infer<typeof slackBlockActionsSchema>;
export type SlackAction = SlackBlockActions['actions'][number];

/** What `/slack/events` carries: the URL check, an event, or an envelope type we do not use. */
export type SlackEventsBody =
  | { type: 'url_verification'; challenge: string; doc: unknown }
  | { type: 'event_callback'; envelope: SlackEventEnvelope; doc: unknown }
  | { type: 'other'; name: string; teamId: string | null; doc: unknown };

/** What `/slack/interactivity` carries: buttons, or an interaction type we do not use. */
export type SlackInteractionBody =
  | { type: 'block_actions'; payload: SlackBlockActions; doc: unknown }
  | { type: 'other'; name: string; teamId: string | null; doc: unknown };

function malformed(what: string, error: z.ZodError): WorkgateError {
  const issue = error.issues[0];
  const where = issue?.path.length ? ` at /${issue.path.map(String).join('/')}` : '';
  return new WorkgateError(
    ErrorCode.MalformedBody,
    `The ${what} is not what Slack sends${where}: ${issue?.message ?? 'invalid'}.`,
  );
}

function typeOf(doc: unknown): string | undefined {
  const type = (doc as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : undefined;
}

function teamOf(doc: unknown): string | null {
  const d = doc as { team_id?: unknown; team?: { id?: unknown } } | null;
  if (typeof d?.team_id === 'string') return d.team_id;
  if (typeof d?.team?.id === 'string') return d.team.id;
  return null;
}

/** An Events API body (JSON), once its signature has been verified. */
export function parseSlackEventsBody(bytes: Buffer): SlackEventsBody {
  return classifyEvents(parseJsonBody(bytes));
}

/** An Events API document, parsed (HTTP) or as Socket Mode hands it over. */
export function classifyEvents(doc: unknown): SlackEventsBody {
  assertStorableJson(doc);
  const type = typeOf(doc);
  if (type === 'url_verification') {
    const parsed = urlVerificationSchema.safeParse(doc);
    if (!parsed.success) throw malformed('url_verification body', parsed.error);
    return { type, challenge: parsed.data.challenge, doc };
  }
  if (type === 'event_callback') {
    const parsed = slackEventEnvelopeSchema.safeParse(doc);
    if (!parsed.success) throw malformed('event_callback envelope', parsed.error);
    return { type, envelope: parsed.data, doc };
  }
  return { type: 'other', name: type ?? 'unknown', teamId: teamOf(doc), doc };
}

/**
 * An interactivity body: `application/x-www-form-urlencoded` with one field,
 * `payload=<JSON>` (the signature covers the form bytes, so this runs after it).
 */
export function parseSlackInteractionBody(bytes: Buffer): SlackInteractionBody {
  const payload = new URLSearchParams(decodeUtf8(bytes)).get('payload');
  if (payload === null) {
    throw new WorkgateError(
      ErrorCode.MalformedBody,
      'An interactivity request carries its JSON in a form field named payload.',
    );
  }
  return classifyInteraction(parseJsonBody(Buffer.from(payload, 'utf8')));
}

export function classifyInteraction(doc: unknown): SlackInteractionBody {
  assertStorableJson(doc);
  const type = typeOf(doc);
  if (type === 'block_actions') {
    const parsed = slackBlockActionsSchema.safeParse(doc);
    if (!parsed.success) throw malformed('block_actions payload', parsed.error);
    return { type, payload: parsed.data, doc };
  }
  return { type: 'other', name: type ?? 'unknown', teamId: teamOf(doc), doc };
}
