import { z } from 'zod';
import { type AgentConfig } from '@app/config';
import { type PersonMemoryStore } from '@app/core';
import {
  CancelRequested,
  DeterminismError,
  defineWorkflow,
  InterruptRequested,
  LeaseLostError,
  type LlmMessage,
  type LlmResponse,
  type LlmToolCall,
  type ModelClient,
  Suspend,
  type WorkflowContext,
  type WorkflowDefinition,
  WorkerStopping,
} from '@app/engine';
import { startConversation } from './conversation-start';
import {
  budgetPassed,
  describeSpend,
  historyStart,
  raiseLimit,
  type Spend,
  trimOldestTurn,
} from './conversation.util';
import { rememberConversation } from './person-memory';
import { type ChatLiveness, openLiveTurn, previewRecipientOf } from './liveness/chat-liveness';
import { type LiveTurn } from './liveness/live-turn';
import { type AgentTool, type EffectTool, type ToolRegistry, type toolSpecs } from './tool';
import { type AgentMedia, configuredAgentMedia } from './media/agent-media';
import {
  type ChatTurns,
  chatTurns,
  FOLLOW_UP_EXPECTS,
  messageOfBody,
  senderOfBody,
  type UserTurn,
} from './media/user-turn';

/** What the `agent:` config block sets for every assistant in this process (the worker sets it at start). */
let configured: AgentConfig | undefined;

/** Called by the worker with the parsed `agent:` block (or undefined: no model). */
export function configureAgent(settings: AgentConfig | undefined): void {
  configured = settings;
}

export interface AssistantOptions {
  /** The workflow kind (default `assistant`). */
  name?: string;
  /** Default: the worker's `agent:` config. */
  settings?: AgentConfig;
  /** Extra tools besides the built-ins and those added with registerTool(). */
  tools?: AgentTool[];
  /** Default: the OpenAI SDK over settings.baseURL. */
  client?: ModelClient;
  /** Where per-person memory is kept; default: the worker's (configureMemoryStore). */
  memory?: PersonMemoryStore;
  /** Files in chat (store, fetchers, limits); default: what the worker configured. */
  media?: AgentMedia;
  /** What the chat shows while the model works; default: the worker's (configureLiveness). */
  liveness?: ChatLiveness;
}

const assistantInput = z
  .object({ text: z.string().optional(), prompt: z.string().optional() })
  .passthrough();

export interface AssistantOutput {
  answer: string | null;
  /** The profile the conversation ran with (`default`: the top-level settings). */
  profile: string;
  stopped?: 'budget';
  spent: Spend;
}

/** Engine signals pass through a tool: they end or suspend the run, they are not the tool's failure. */
function isRunControl(err: unknown): boolean {
  return (
    err instanceof Suspend ||
    err instanceof LeaseLostError ||
    err instanceof DeterminismError ||
    err instanceof WorkerStopping ||
    err instanceof InterruptRequested ||
    err instanceof CancelRequested
  );
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * One tool call: validated against the tool's schema (a bad call goes back to the model
 * as an error), approved if the tool requires it (a denial goes back as its result),
 * then run — an effect tool inside its own step (its own idempotency key), a workflow
 * tool through the ctx primitives it uses. A tool that throws reports the error to the
 * model; the work carries on.
 */
async function runToolCall(
  ctx: WorkflowContext,
  tools: ToolRegistry,
  call: LlmToolCall,
  settings: AgentConfig,
): Promise<unknown> {
  const tool = tools.get(call.name);
  if (!tool)
    return {
      error: `unknown tool "${call.name}"; available: ${tools
        .list()
        .map((t) => t.name)
        .join(', ')}`,
    };
  let raw: unknown;
  try {
    raw = call.arguments.trim() ? JSON.parse(call.arguments) : {};
  } catch (err) {
    return { error: `the arguments are not valid JSON: ${messageOf(err)}` };
  }
  const parsed = tool.parameters.safeParse(raw);
  if (!parsed.success)
    return { error: `invalid arguments for ${tool.name}: ${z.prettifyError(parsed.error)}` };
  const args: unknown = parsed.data;
  if (tool.requiresApproval) {
    const approved = await ctx.ask<boolean>({
      text: `The assistant wants to run ${tool.name} with ${JSON.stringify(args)}. Allow it?`,
      expects: { type: 'boolean' },
      ...(settings.approvers.length ? { responders: settings.approvers } : {}),
    });
    if (!approved)
      return {
        error: `denied: an approver rejected this ${tool.name} call. Do not retry it; tell the user.`,
      };
  }
  const toolCtx = { ctx, settings };
  if (tool.workflow) {
    try {
      return await tool.workflow(args, toolCtx);
    } catch (err) {
      if (isRunControl(err)) throw err;
      return { error: `${tool.name} failed: ${messageOf(err)}` };
    }
  }
  const effect: EffectTool = tool;
  return ctx.step(`tool:${tool.name}`, async (step) => {
    try {
      return await effect.run(args, step, toolCtx);
    } catch (err) {
      // Cut short by the run ending (lease lost, worker stopping): not the tool's answer.
      if (step.signal.aborted || isRunControl(err)) throw err;
      return { error: `${tool.name} failed: ${messageOf(err)}` };
    }
  });
}

/**
 * The `assistant` workflow kind: the conversation lives in the ledger — every model
 * response, tool result, inbox read and follow-up is a recorded step, and a re-run
 * rebuilds the message list from them — never in process memory. It loops model →
 * tools → model until the model answers without tool calls, and sends that answer to
 * the chat the work came from; there it waits `followUpWindow` for the next message,
 * which continues the same conversation (and the same budget).
 */
export function createAssistantWorkflow(
  options: AssistantOptions = {},
): WorkflowDefinition<z.infer<typeof assistantInput>, AssistantOutput> {
  return defineWorkflow(
    options.name ?? 'assistant',
    async (ctx, input): Promise<AssistantOutput> => {
      const media = options.media ?? configuredAgentMedia();
      const { profile, settings, client, specs, tools, messages, recalled, text } =
        await startConversation(ctx, input, {
          ...options,
          settings: options.settings ?? configured,
          media,
        });
      const here = ctx.origin.address;
      const reply = async (text: string) => {
        if (here) await ctx.send(here, { text });
      };
      // Only a chat can carry a follow-up; a work started by API or webhook ends with its answer.
      const followUpWindow = here ? settings.followUpWindow : 0;
      const turns = chatTurns(ctx, media, settings, reply, senderOfBody(input));
      let limits = settings.budget;
      const spent: Spend = { tokens: 0, costUsd: 0, turns: 0 };
      const follow = { here, followUpWindow, messages, reply, turns };
      const recipient = previewRecipientOf(input);
      const live = () => openLiveTurn(ctx, recipient, options.liveness);
      if (!(await openingTurn(ctx, { ...input, text }, follow)))
        return { answer: null, spent, profile };
      for (;;) {
        // Messages that came in while the assistant was busy join before the next call.
        messages.push(...(await turns.inbox(await ctx.inbox())));
        const passed = budgetPassed(spent, limits);
        if (passed) {
          const more = await askForMoreBudget(ctx, settings, describeSpend(spent, limits, passed));
          if (!more) {
            await reply(
              'I reached the spending limit for this request and it was not extended, so I have to stop here. Sorry!',
            );
            return { answer: null, stopped: 'budget', spent, profile };
          }
          limits = raiseLimit(limits, settings.budget, passed);
          continue;
        }
        const message = await callModel(ctx, { settings, client, live }, messages, specs, spent);
        const calls = message.toolCalls ?? [];
        if (!calls.length) {
          const answer = message.content ?? '';
          const text = answer || '(no answer)';
          if (await continueAfterAnswer(ctx, follow, text)) continue;
          // The conversation ended (its window passed, or /new): what it taught goes to memory.
          if (recalled)
            await rememberConversation(ctx, {
              store: options.memory,
              recalled,
              settings,
              client,
              messages,
            });
          return { answer, spent, profile };
        }
        for (const call of calls) {
          const result = await runToolCall(ctx, tools, call, settings);
          messages.push({
            role: 'tool',
            toolCallId: call.id,
            content: typeof result === 'string' ? result : JSON.stringify(result ?? null),
          });
        }
      }
    },
    {
      input: assistantInput,
      description: 'An OpenAI tool-calling agent (libs/agent)',
      // A fatal model error is NonRetryableError; other failures (model down past the
      // step's own retries) retry the work a few times with backoff.
      retry: { maxAttempts: 3 },
    },
  );
}

/** The `assistant` kind the worker registers when `agent:` is configured. */
export const assistantWorkflow = createAssistantWorkflow();

/** Asks the approvers (or the chat) whether the assistant may spend past its budget. */
function askForMoreBudget(
  ctx: WorkflowContext,
  settings: AgentConfig,
  spend: string,
): Promise<boolean> {
  return ctx.ask<boolean>({
    text: `Budget reached: ${spend}. Allow the assistant to continue?`,
    expects: { type: 'boolean' },
    waitType: 'budget',
    ...(settings.approvers.length ? { responders: settings.approvers } : {}),
  });
}

/** One model call as a recorded step; its usage is added to `spent`, its answer to `messages`. */
async function callModel(
  ctx: WorkflowContext,
  model: { settings: AgentConfig; client: ModelClient; live: () => LiveTurn | undefined },
  messages: LlmMessage[],
  specs: ReturnType<typeof toolSpecs>,
  spent: Spend,
) {
  const { settings, client } = model;
  // The chat's preview while the model works: best-effort, never recorded, and ended
  // without waiting for it — the answer goes out through the outbox either way.
  const live = model.live();
  let response: LlmResponse;
  try {
    response = await ctx.llm(
      {
        model: settings.model,
        messages,
        tools: specs,
        ...(settings.temperature !== undefined ? { temperature: settings.temperature } : {}),
      },
      {
        client,
        timeout: settings.timeout,
        maxAttempts: settings.maxAttempts,
        trim: trimOldestTurn,
        ...(live ? { progress: live.progress } : {}),
      },
    );
  } finally {
    void live?.stop();
  }
  // The step dropped the oldest turns to fit: so does the conversation from now on.
  if (response.trimmed) messages.splice(historyStart(messages), response.trimmed);
  spent.turns += 1;
  spent.tokens += response.usage.inputTokens + response.usage.outputTokens;
  spent.costUsd = Math.round((spent.costUsd + response.costUsd) * 1e6) / 1e6;
  messages.push(response.message);
  return response.message;
}

/** Where the conversation happens and how it goes on, shared by the opening turn and follow-ups. */
interface FollowUp {
  here: WorkflowContext['origin']['address'];
  followUpWindow: AgentConfig['followUpWindow'];
  messages: LlmMessage[];
  reply: (text: string) => Promise<void>;
  turns: ChatTurns;
}

/**
 * The person's first message as the model's first user turn. Files the model cannot use
 * are answered first (never silence); when nothing is left for the model the answer is
 * that notice, and the conversation waits for a follow-up like after any answer. False:
 * the work ends here.
 */
async function openingTurn(
  ctx: WorkflowContext,
  input: z.infer<typeof assistantInput>,
  follow: FollowUp,
): Promise<boolean> {
  const opening = messageOfBody(input);
  const text =
    input.text ?? input.prompt ?? (opening.attachments.length ? '' : JSON.stringify(input));
  const turn = await follow.turns.of({ ...opening, text });
  if (turn.message) {
    if (turn.notice) await follow.reply(turn.notice);
    follow.messages.push(turn.message);
    return true;
  }
  return continueAfterAnswer(ctx, follow, turn.notice ?? '(no answer)');
}

/**
 * After an answer without tool calls: sends it, and reports whether the conversation
 * goes on (a message waiting, or one arriving within the follow-up window).
 */
async function continueAfterAnswer(
  ctx: WorkflowContext,
  follow: FollowUp,
  text: string,
): Promise<boolean> {
  const { here, followUpWindow, messages, reply, turns } = follow;
  if (!here || !followUpWindow) {
    await reply(text);
    return false;
  }
  // Messages sent while the model was answering come first: answered at once,
  // not after the window.
  const waiting = await turns.inbox(await ctx.inbox());
  if (waiting.length) {
    await reply(text);
    messages.push(...waiting);
    return true;
  }
  // The answer is the prompt of a wait the conversation's next message satisfies
  // (routing rule 2; a reply to the answer names this work too). A plain prompt:
  // no reply keyboard, not edited with who answered. The answer, or the timeout's
  // null, is the wait step's record, so a re-run rebuilds the same conversation.
  let prompt = text;
  for (;;) {
    const followUp = await ctx.ask<unknown>({
      to: here,
      text: prompt,
      plain: true,
      expects: FOLLOW_UP_EXPECTS,
      timeout: followUpWindow,
      onTimeout: 'default',
      default: null,
    });
    if (followUp === null) break;
    const turn: UserTurn = await turns.of(messageOfBody(followUp));
    if (turn.message) {
      if (turn.notice) await reply(turn.notice);
      messages.push(turn.message);
      return true;
    }
    // Nothing in it the model can use: the notice is the answer, and the window opens again.
    prompt = turn.notice ?? '(no answer)';
  }
  // The window passed. A message that reached the inbox meanwhile — between the
  // read above and the wait opening, or just after the timeout won the wait — is
  // answered, not dropped.
  const late = await turns.inbox(await ctx.inbox());
  if (!late.length) return false;
  messages.push(...late);
  return true;
}
