import { z } from 'zod';
import { createAssistantWorkflow, defineTool } from '@app/agent';

/**
 * The agent fault test's workflow (compiled to dist/test/support/workflows and loaded by
 * a real worker process through WORKGATE_WORKFLOWS): the assistant with one side-effect
 * tool that reports to a loopback server keyed by its step's idempotency key. On its
 * first attempt it announces itself and hangs *before* the effect, so the test can
 * kill -9 the worker after the model call was recorded and before the tool did anything.
 */
const effectTool = defineTool({
  name: 'effect',
  description: 'Apply the effect',
  parameters: z.object({ url: z.string(), hang: z.boolean() }),
  async run(args, step) {
    if (args.hang && step.attempt === 1) {
      await fetch(`${args.url}/reached`, { method: 'POST', body: '{}' });
      await new Promise(() => undefined); // killed here
    }
    const res = await fetch(`${args.url}/effect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': step.idempotencyKey },
      body: JSON.stringify({ attempt: step.attempt, pid: process.pid }),
    });
    return { status: res.status, attempt: step.attempt };
  },
});

export const faultAssistant = createAssistantWorkflow({
  name: 'fault.assistant',
  tools: [effectTool],
});
