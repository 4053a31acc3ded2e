import { z } from 'zod';
import { mediaTypeOf } from '@app/core';
import { type AgentTool, defineTool } from '../tool';
import { type AgentMedia } from './agent-media';

/**
 * The assistant's `send_file` tool: a file it writes (a report, a CSV, code) sent to the
 * chat as a document, or a file from this conversation sent back. The file is stored
 * first, in a step keyed by the step's idempotency key (a re-run stores nothing twice),
 * then sent through the outbox like any message — exactly one outbox row.
 */
export function sendFileTool(media: AgentMedia): AgentTool {
  return defineTool({
    name: 'send_file',
    description:
      'Send a file to the person in this chat: either text content you write under a file name (e.g. report.csv, notes.md), or a file from this conversation by its attachment id.',
    parameters: z.object({
      name: z.string().min(1).max(200).describe('File name with extension, e.g. summary.md'),
      content: z.string().optional().describe('The text content of a new file'),
      attachmentId: z.string().optional().describe('Or: the id of a file received earlier'),
      caption: z.string().max(1000).optional(),
    }),
    async workflow(args, { ctx }) {
      const here = ctx.origin.address;
      if (!here) return { error: 'this work has no chat to send a file to' };
      if ((args.content === undefined) === (args.attachmentId === undefined))
        return { error: 'give either content or attachmentId' };
      let id = args.attachmentId;
      if (args.content !== undefined) {
        const content = args.content;
        const mime = mediaTypeOf(null, args.name);
        const bytes = new TextEncoder().encode(content);
        if (bytes.byteLength > media.limits.maxBytes)
          return { error: `the file is larger than ${media.limits.maxBytes} bytes` };
        const stored = await ctx.step('file:store', (step) =>
          media.store.put(step.idempotencyKey, bytes, {
            mime: mime === 'application/octet-stream' ? 'text/plain' : mime,
            name: args.name,
          }),
        );
        id = stored.id;
      }
      const { outboxId } = await ctx.send(here, {
        ...(args.caption ? { text: args.caption } : {}),
        file: { id: id!, name: args.name },
      });
      return { sent: true, outboxId };
    },
  });
}
