import { z } from 'zod';
import { parseDurationMs, WORK_STATES } from '@app/core';
import { workSummarySchema } from './api.schemas';

/*
 * Starting a work and waiting for its result (POST /api/v1/works, GET
 * /api/v1/works/{id}/result), and the workflow kinds the workers registered.
 */

/** The longest a result request holds the connection: below common proxy idle timeouts (60 s). */
export const RESULT_WAIT_MAX_MS = 55_000;

const WORKFLOW_KIND = /^[a-z][a-z0-9_.-]*$/i;

export const startWorkBody = z.strictObject({
  kind: z
    .string()
    .regex(WORKFLOW_KIND, 'a workflow kind: letters, digits, ".", "-", "_"')
    .max(200)
    .describe('the workflow kind, as a worker registered it (GET /api/v1/workflows)'),
  input: z
    .unknown()
    .describe('the workflow’s input, checked against the JSON Schema its worker registered'),
  idempotencyKey: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe(
      'a second start with the same key answers 200 with the first start’s work and opens nothing',
    ),
  conversationKey: z
    .string()
    .min(1)
    .max(500)
    .optional()
    .describe('ties the work to a conversation, so replies on it route to this work'),
  title: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .optional()
    .describe(
      'what the work is about, in a few words: shown in lists and on chat buttons that name it (default: its kind and the first words of its input)',
    ),
});
export type StartWorkBody = z.output<typeof startWorkBody>;

export const startWorkResultSchema = z
  .object({
    work: workSummarySchema,
    eventId: z.uuid().describe('the `api` inbound event that recorded the start'),
    created: z.boolean().describe('false: the idempotency key was seen, nothing new was opened'),
  })
  .meta({ id: 'StartWorkResult' });

export const resultQuery = z.strictObject({
  wait: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return 0;
      const ms = parseDurationMs(v);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: 'a duration such as 30s, 500ms or 1m' });
        return z.NEVER;
      }
      return Math.min(ms, RESULT_WAIT_MAX_MS);
    })
    .describe(
      `how long to hold the request while the work is live (e.g. 30s; at most ${RESULT_WAIT_MAX_MS / 1000}s; default 0: answer at once)`,
    ),
});
export type ResultQuery = z.output<typeof resultQuery>;

export const workResultSchema = z
  .object({
    id: z.uuid(),
    kind: z.string(),
    state: z.enum(WORK_STATES),
    done: z.boolean().describe('true once COMPLETED, FAILED or CANCELLED: nothing will change'),
    output: z.unknown().describe('what the workflow returned (COMPLETED)'),
    error: z.unknown().describe('why it failed (FAILED) or who cancelled it (CANCELLED)'),
    finishedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'WorkResult' });

export const workflowKindSchema = z
  .object({
    kind: z.string(),
    description: z.string().nullable(),
    inputSchema: z.unknown().describe('JSON Schema of the input; null: any input'),
    registeredBy: z.string().describe('the worker that registered it last'),
    registeredAt: z.iso.datetime(),
  })
  .meta({ id: 'WorkflowKind' });

export const workflowKindsSchema = z
  .object({ items: z.array(workflowKindSchema) })
  .meta({ id: 'WorkflowKinds' });
