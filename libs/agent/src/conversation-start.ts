import { type AgentConfig } from '@app/config';
import {
  type LlmMessage,
  type ModelClient,
  NonRetryableError,
  type WorkflowContext,
} from '@app/engine';
import { chooseProfile } from './agent-profiles';
import { type AssistantOptions } from './assistant.workflow';
import { builtinTools } from './builtin-tools';
import { OpenAiChatModelClient } from './openai-model.client';
import { OpenAiResponsesModelClient } from './openai-responses-model.client';
import { sendFileTool } from './media/send-file.tool';
import { recallMemory, systemWithMemory } from './person-memory';
import { ToolRegistry, toolSpecs, userTools } from './tool';

const clients = new WeakMap<AgentConfig, ModelClient>();
/** One SDK client per settings object (a profile's settings are one object: profileSettings). */
function clientFor(settings: AgentConfig): ModelClient {
  let client = clients.get(settings);
  if (!client) {
    client =
      settings.api === 'responses'
        ? new OpenAiResponsesModelClient(settings)
        : new OpenAiChatModelClient(settings);
    clients.set(settings, client);
  }
  return client;
}

/**
 * The conversation's first moment: its profile (chooseProfile), model client, tools,
 * and the first messages — the system prompt with what is remembered about the person
 * (a recorded step); the first message is the opening turn's.
 */
export async function startConversation(
  ctx: WorkflowContext,
  input: { text?: string; prompt?: string },
  options: AssistantOptions,
) {
  const base = options.settings;
  if (!base)
    throw new NonRetryableError(
      'the assistant needs a model: add an `agent:` block (agent.model, agent.apiKey) to the config',
      'agent_not_configured',
    );
  const chosen = chooseProfile(base, ctx.origin, input.text);
  const settings = chosen.settings;
  const client = options.client ?? clientFor(settings);
  const tools = offeredTools(
    new ToolRegistry().register(
      ...builtinTools(settings),
      ...(options.media ? [sendFileTool(options.media)] : []),
      ...(options.tools ?? []),
      ...userTools.list(),
    ),
    settings,
  );
  const recalled = settings.memory.enabled ? await recallMemory(ctx, options.memory) : null;
  // The first user turn (its text, files) is the opening turn's (media/user-turn).
  const messages: LlmMessage[] = [
    { role: 'system', content: systemWithMemory(settings.system, recalled) },
  ];
  return {
    profile: chosen.name,
    settings,
    client,
    tools,
    specs: toolSpecs(tools.list()),
    messages,
    recalled,
    /** The first message's text, a profile command (`/ask_<name>`) taken off. */
    text: chosen.text ?? input.text,
  };
}

/** `tools:` narrows what is offered; a name nothing registers is a configuration error. */
function offeredTools(all: ToolRegistry, settings: AgentConfig): ToolRegistry {
  if (!settings.tools) return all;
  const offered = new ToolRegistry();
  for (const name of settings.tools) {
    const tool = all.get(name);
    if (!tool)
      throw new NonRetryableError(
        `agent tools names "${name}", which no tool is called (known: ${all
          .list()
          .map((t) => t.name)
          .join(', ')})`,
        'unknown_tool',
      );
    offered.register(tool);
  }
  return offered;
}
