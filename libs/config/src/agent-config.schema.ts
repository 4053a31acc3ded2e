import { z } from 'zod';
import {
  agentProfileSchema,
  memorySettingsSchema,
  PROFILE_NAME,
  profileRouteSchema,
} from './agent-profile.schema';
import { byteSize, durationMs } from './config-primitives';

export const modelPrice = z.strictObject({
  input: z.number().nonnegative().describe('USD per 1M input tokens.'),
  output: z.number().nonnegative().describe('USD per 1M output tokens.'),
  cached: z
    .number()
    .nonnegative()
    .optional()
    .describe('USD per 1M cached input tokens; defaults to `input`.'),
});

/** The model behind the `assistant` workflow (libs/agent, docs/agent.md). */
const agentSettingsSchema = z.strictObject({
  /**
   * Which OpenAI API the SDK calls: `chat` (Chat Completions, what OpenAI-compatible
   * servers speak) or `responses` (the Responses API, stateless: `store: false`).
   */
  api: z
    .enum(['chat', 'responses'])
    .default('chat')
    .describe(
      '`chat`: Chat Completions, which every OpenAI-compatible server speaks; `responses`: the Responses API, stateless (`store: false`).',
    ),
  /** Any OpenAI-compatible server: OpenAI, Azure OpenAI, Ollama, vLLM, LM Studio. */
  baseURL: z
    .string()
    .url()
    .optional()
    .describe('Any OpenAI-compatible server: OpenAI, Azure OpenAI, Ollama, vLLM, LM Studio.'),
  /** `${OPENAI_API_KEY}`; local servers accept any non-empty string. */
  apiKey: z
    .string()
    .min(1, 'agent.apiKey is empty (set OPENAI_API_KEY)')
    .describe('`${OPENAI_API_KEY}`; local servers accept any non-empty string.'),
  model: z.string().min(1).describe('The model, e.g. gpt-4o-mini (llama3.1 on Ollama).'),
  /** Recorded on each ModelCall (`openai`, `ollama`, …). */
  provider: z
    .string()
    .min(1)
    .default('openai')
    .describe('Recorded on each ModelCall (`openai`, `ollama`, …).'),
  system: z
    .string()
    .default(
      'You are a helpful assistant working through a chat. Use the tools when they help; answer briefly.',
    )
    .describe('The system prompt.'),
  temperature: z
    .number()
    .min(0)
    .max(2)
    .optional()
    .describe("Sampling temperature, 0-2; the server's default when absent."),
  /** One model request's time limit; 429/5xx are retried inside the step up to maxAttempts. */
  timeout: durationMs.default(120_000).describe("One model request's time limit."),
  maxAttempts: z
    .number()
    .int()
    .positive()
    .default(6)
    .describe(
      "429, 5xx and connection errors are retried inside the step up to this many attempts; then the work's own retry policy.",
    ),
  prices: z
    .record(z.string().min(1), modelPrice)
    .default({})
    .describe(
      'USD per 1M tokens by model name, for ModelCall.costUsd; a model missing here costs 0.',
    ),
  /** Per-work limits; passing one opens a `budget` wait an operator approves (raising it) or denies. */
  budget: z
    .strictObject({
      tokens: z.number().int().positive().optional().describe('Tokens per work.'),
      costUsd: z.number().positive().optional().describe('Model cost per work, USD.'),
      turns: z.number().int().positive().default(20).describe('Model calls per work.'),
    })
    .prefault({}),
  /** Who may answer tool approvals and budget asks (channel user ids, e.g. `telegram:42`); anyone if empty. */
  approvers: z
    .array(z.string().min(1))
    .default([])
    .describe(
      'Who may answer tool approvals and budget asks (channel user ids, e.g. telegram:42); anyone if empty.',
    ),
  /** Built-in tools that need an approver's yes before they run (e.g. [http_request]). */
  requireApproval: z
    .array(z.string().min(1))
    .default([])
    .describe("Built-in tools that need an approver's yes before they run (e.g. [http_request])."),
  /** The `http_request` tool: only these hosts (`api.example.com`, `*.example.com`, `127.0.0.1:8080`). */
  http: z
    .strictObject({
      allowHosts: z
        .array(z.string().min(1))
        .default([])
        .describe(
          'The http_request tool may call only these hosts (api.example.com, *.example.com, 127.0.0.1:8080); offered only when set.',
        ),
      maxBytes: byteSize.default(256 * 1024).describe('Larger answers are errors.'),
      timeout: durationMs.default(10_000).describe('Slower answers are errors.'),
    })
    .prefault({}),
  /** The `send_message` tool's destinations by name (the model picks a name, never an address). */
  targets: z
    .record(
      z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'target names: lowercase letters, digits, - and _'),
      z.strictObject({
        channel: z.string().min(1).describe('The channel: telegram, slack or http.'),
        target: z.string().min(1).describe("The channel's target, e.g. main:-1001234567890."),
        thread: z.string().optional().describe('The thread to post in.'),
      }),
    )
    .default({}),
  /**
   * After an answer in a chat, the work waits this long for the next message in that
   * conversation and carries on with the whole conversation; `0` ends it after the answer.
   */
  followUpWindow: durationMs
    .default(30 * 60_000)
    .describe(
      'After an answer in a chat, how long the work waits for a follow-up message in that conversation; `0` ends it after the answer.',
    ),
  /** Which tools the assistant offers (built-ins and registered ones); absent: all of them. */
  tools: z
    .array(z.string().min(1))
    .optional()
    .describe(
      'The only tools offered, by name (built-ins and registered tools); absent: all of them.',
    ),
  memory: memorySettingsSchema.prefault({}),
  /** Named variants of the settings above; the top-level settings are the profile `default`. */
  profiles: z
    .record(
      z
        .string()
        .regex(PROFILE_NAME, 'profile names: lowercase letters, digits and _, at most 32')
        .refine((name) => name !== 'default', '`default` is the top-level settings'),
      agentProfileSchema,
    )
    .default({})
    .describe('Named profiles; each field set replaces the top-level value.'),
  /** Which profile a new conversation gets, by where it starts; the first matching line wins. */
  profileRoutes: z
    .array(profileRouteSchema)
    .default([])
    .describe(
      'Which profile a new conversation uses, by channel, bot/workspace and chat; the first matching line wins, else `default`.',
    ),
});

/** The `agent:` block; a route naming an unknown profile stops the config from loading. */
export const agentConfigSchema = agentSettingsSchema.superRefine((agent, ctx) => {
  agent.profileRoutes.forEach((route, i) => {
    if (route.profile !== 'default' && !Object.hasOwn(agent.profiles, route.profile))
      ctx.addIssue({
        code: 'custom',
        path: ['profileRoutes', i, 'profile'],
        message: `no profile "${route.profile}" in agent.profiles (known: default${Object.keys(
          agent.profiles,
        )
          .map((n) => `, ${n}`)
          .join('')})`,
      });
  });
});
export type AgentConfig = z.infer<typeof agentConfigSchema>;
