import { z } from 'zod';
import { type AgentConfig } from '@app/config';
import { type AgentTool, defineTool } from './tool';
import { isHostAllowed } from './conversation.util';

/** Reads a response body up to a limit: a larger one is an error, not a silent truncation. */
async function readLimited(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes)
    throw new Error(`the response is ${declared} bytes; the limit is ${maxBytes}`);
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new Error(`the response passed the ${maxBytes}-byte limit`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export const askHumanTool = defineTool({
  name: 'ask_human',
  description:
    'Ask the person you are talking with a question and wait for the answer. Give choices when the answer is one of a few.',
  parameters: z.object({
    question: z.string().min(1),
    choices: z.array(z.string().min(1)).min(2).max(10).optional(),
  }),
  async workflow(args, { ctx }) {
    const answer = await ctx.ask<string>({
      text: args.question,
      expects: args.choices ? { type: 'string', enum: args.choices } : { type: 'string' },
    });
    return { answer };
  },
});

export const waitForWebhookTool = defineTool({
  name: 'wait_for_webhook',
  description:
    'Wait until a webhook carrying this correlation key arrives, then return its payload (e.g. a CI result for a ref).',
  parameters: z.object({
    key: z.string().min(1).max(200),
    timeout: z
      .string()
      .regex(/^\d+(ms|s|m|h|d)$/)
      .optional()
      .describe('give up after this long, e.g. 30m; the result is then {"timedOut":true}'),
  }),
  async workflow(args, { ctx }) {
    const payload = await ctx.waitFor<unknown>({
      match: args.key,
      type: 'webhook',
      ...(args.timeout ? { timeout: args.timeout, onTimeout: 'default', default: null } : {}),
    });
    return payload === null && args.timeout ? { timedOut: true } : { payload };
  },
});

export const scheduleWakeupTool = defineTool({
  name: 'schedule_wakeup',
  description: 'Pause until a time (ISO 8601) or for a while (e.g. 10m, 2h), then continue.',
  parameters: z
    .object({
      at: z.iso.datetime({ offset: true }).optional(),
      after: z
        .string()
        .regex(/^\d+(ms|s|m|h|d)$/)
        .optional(),
    })
    .refine((a) => (a.at === undefined) !== (a.after === undefined), {
      message: 'give exactly one of at or after',
    }),
  async workflow(args, { ctx }) {
    await ctx.sleep(args.at ? { until: args.at } : args.after!);
    return { wokeAt: (await ctx.now()).toISOString() };
  },
});

export function sendMessageTool(settings: AgentConfig): AgentTool {
  const names = Object.keys(settings.targets);
  return defineTool({
    name: 'send_message',
    description: `Send a message to a configured destination: ${[...names, '"here" (this conversation)'].join(', ')}.`,
    parameters: z.object({ to: z.string().min(1), text: z.string().min(1).max(4000) }),
    async workflow(args, { ctx }) {
      // `to` comes from the model: own properties only (`constructor` is no destination).
      const address =
        args.to === 'here'
          ? ctx.origin.address
          : Object.hasOwn(settings.targets, args.to)
            ? settings.targets[args.to]
            : undefined;
      if (!address)
        return {
          error: `no destination "${args.to}"; use one of: ${[...names, 'here'].join(', ')}`,
        };
      const { outboxId } = await ctx.send(address, { text: args.text });
      return { sent: true, outboxId };
    },
  });
}

export function httpRequestTool(settings: AgentConfig): AgentTool {
  const { allowHosts, maxBytes, timeout } = settings.http;
  return defineTool({
    name: 'http_request',
    description: `Make an HTTP request to an allowed host (${allowHosts.join(', ') || 'none configured'}). Returns status and body text.`,
    parameters: z.object({
      url: z.url(),
      method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
      headers: z.record(z.string(), z.string()).optional(),
      body: z.string().optional(),
    }),
    async run(args, step) {
      if (!isHostAllowed(args.url, allowHosts))
        throw new Error(`${new URL(args.url).host} is not on agent.http.allowHosts`);
      const res = await fetch(args.url, {
        method: args.method,
        headers: { ...args.headers, 'idempotency-key': step.idempotencyKey },
        ...(args.body !== undefined && args.method !== 'GET' ? { body: args.body } : {}),
        // A redirect could lead off the allowlist: it is returned, not followed.
        redirect: 'manual',
        signal: AbortSignal.any([step.signal, AbortSignal.timeout(timeout)]),
      });
      const body = await readLimited(res, maxBytes);
      return { status: res.status, contentType: res.headers.get('content-type'), body };
    },
  });
}

/** The built-in tools for these settings (approval as configured in agent.requireApproval). */
export function builtinTools(settings: AgentConfig): AgentTool[] {
  const needApproval = new Set(settings.requireApproval);
  return [
    askHumanTool,
    waitForWebhookTool,
    scheduleWakeupTool,
    sendMessageTool(settings),
    ...(settings.http.allowHosts.length ? [httpRequestTool(settings)] : []),
  ].map((t) => (needApproval.has(t.name) ? { ...t, requiresApproval: true } : t));
}
