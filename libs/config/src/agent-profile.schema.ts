import { z } from 'zod';
import { durationMs } from './config-primitives';

/** Profile names are also command suffixes (`/ask_<name>`): what Telegram allows in a command. */
export const PROFILE_NAME = /^[a-z0-9][a-z0-9_]{0,31}$/;

/** Per-person memory (docs/agent.md, "Memory"). */
export const memorySettingsSchema = z.strictObject({
  enabled: z
    .boolean()
    .default(false)
    .describe(
      'Keep a summary of each person across conversations: written when a conversation ends, read into the system prompt when the next begins.',
    ),
  maxLength: z
    .number()
    .int()
    .min(100)
    .max(20_000)
    .default(2000)
    .describe('The longest summary kept, in characters (a longer one is cut).'),
});

/** The fields a profile may set; each replaces the top-level (default profile's) value. */
export const agentProfileSchema = z.strictObject({
  description: z
    .string()
    .optional()
    .describe('What the profile is for, for the people who read this config.'),
  api: z.enum(['chat', 'responses']).optional().describe('As `agent.api`.'),
  baseURL: z.string().url().optional().describe('As `agent.baseURL`.'),
  apiKey: z.string().min(1).optional().describe('As `agent.apiKey`.'),
  provider: z.string().min(1).optional().describe('As `agent.provider`.'),
  model: z.string().min(1).optional().describe('As `agent.model`.'),
  system: z.string().optional().describe('As `agent.system`.'),
  temperature: z.number().min(0).max(2).optional().describe('As `agent.temperature`.'),
  budget: z
    .strictObject({
      tokens: z.number().int().positive().optional().describe('Tokens per work.'),
      costUsd: z.number().positive().optional().describe('Model cost per work, USD.'),
      turns: z.number().int().positive().optional().describe('Model calls per work.'),
    })
    .optional()
    .describe("Limits given here replace the default's; the others are kept."),
  tools: z
    .array(z.string().min(1))
    .optional()
    .describe('As `agent.tools`: the only tools this profile offers.'),
  memory: z
    .strictObject({
      enabled: z.boolean().optional().describe('As `agent.memory.enabled`.'),
      maxLength: z
        .number()
        .int()
        .min(100)
        .max(20_000)
        .optional()
        .describe('As `agent.memory.maxLength`.'),
    })
    .optional(),
  followUpWindow: durationMs.optional().describe('As `agent.followUpWindow`.'),
  command: z
    .boolean()
    .default(false)
    .describe(
      'People may choose this profile for a new conversation by starting it with `/ask_<name>` (Slack: `ask_<name>` after the mention).',
    ),
});
export type AgentProfileConfig = z.infer<typeof agentProfileSchema>;

/** One line of the routing table: the first line whose fields all match picks the profile. */
export const profileRouteSchema = z.strictObject({
  profile: z
    .string()
    .min(1)
    .describe('A name from `agent.profiles`, or `default` (the top-level settings).'),
  channel: z.string().min(1).optional().describe('`telegram`, `slack`, … ; absent: any.'),
  source: z
    .string()
    .min(1)
    .optional()
    .describe(
      'The bot (`telegram.bots.<name>`) or workspace (`slack.workspaces.<name>`); absent: any.',
    ),
  chat: z
    .union([z.string().min(1), z.number().int()])
    .optional()
    .describe(
      'One chat: a Telegram chat id (`-1001234567890`) or a Slack channel id (`C0123`); absent: any.',
    ),
});
export type ProfileRoute = z.infer<typeof profileRouteSchema>;
