import { z } from 'zod';
import { PAGE_LIMIT_MAX } from './api.schemas';

/** `<channel>:<bot or workspace>:<user>`, as /memory and the timeline name a person. */
export const personKey = z
  .string()
  .max(300)
  .regex(/^[a-z0-9_-]+:[^:\s]+:\S+$/, 'a person: <channel>:<bot or workspace>:<user id>')
  .describe('person, e.g. `telegram:main:42` or `slack:acme:T0123:U0456`');

export const listMemoriesQuery = z.strictObject({
  prefix: z
    .string()
    .min(1)
    .max(300)
    .optional()
    .describe('only people whose key starts with this, e.g. `telegram:main:`'),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(PAGE_LIMIT_MAX)
    .default(50)
    .describe(`page size (1-${PAGE_LIMIT_MAX})`),
  cursor: z
    .string()
    .min(1)
    .max(512)
    .optional()
    .describe('`nextCursor` of the previous page; absent for the first page'),
});
export type ListMemoriesQuery = z.output<typeof listMemoriesQuery>;

export const memorySchema = z
  .object({
    person: z.string(),
    channel: z.string(),
    source: z.string().describe('the bot or workspace'),
    summary: z.string().nullable().describe('null: nothing remembered (erased)'),
    version: z.number().int(),
    workId: z.uuid().nullable().describe('the work whose conversation wrote it last'),
    forgottenAt: z.iso.datetime().nullable(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'PersonMemory' });

export const memoryPageSchema = z
  .object({ items: z.array(memorySchema), nextCursor: z.string().nullable() })
  .meta({ id: 'PersonMemoryPage' });

export const memoryErasedSchema = z
  .object({
    person: z.string(),
    erased: z.boolean().describe('false: nothing was remembered'),
  })
  .meta({ id: 'PersonMemoryErased' });
