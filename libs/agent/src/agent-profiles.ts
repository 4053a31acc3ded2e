import { type AgentConfig, type AgentProfileConfig, type ProfileRoute } from '@app/config';
import { type WorkOrigin } from '@app/engine';

/** The profile a conversation runs with, and its first message without the choosing command. */
export interface ChosenProfile {
  name: string;
  settings: AgentConfig;
  /** The first message's text, `/ask_<name>` removed when it chose the profile. */
  text: string | undefined;
}

/** `/ask_<name> …`; `@bot` after it in Telegram groups, no slash in Slack (Slack keeps `/…` for itself). */
const ASK_COMMAND = /^\s*\/?ask_([a-z0-9_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?=\s|$)/i;

const resolved = new WeakMap<AgentConfig, Map<string, AgentConfig>>();

/**
 * A profile's settings: the top-level ones with the profile's fields laid over them.
 * One object per (config, profile), so the model client cached per settings is too.
 */
export function profileSettings(base: AgentConfig, name: string): AgentConfig {
  let byName = resolved.get(base);
  if (!byName) {
    byName = new Map();
    resolved.set(base, byName);
  }
  const known = byName.get(name);
  if (known) return known;
  const profile = Object.hasOwn(base.profiles, name) ? base.profiles[name] : undefined;
  const settings = profile ? overlay(base, profile) : base;
  byName.set(name, settings);
  return settings;
}

function overlay(base: AgentConfig, profile: AgentProfileConfig): AgentConfig {
  const { budget, memory, command: _command, description: _description, ...fields } = profile;
  const set = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  return {
    ...base,
    ...set,
    budget: { ...base.budget, ...dropUndefined(budget ?? {}) },
    memory: { ...base.memory, ...dropUndefined(memory ?? {}) },
  };
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** `<source>:<chat>[:<topic>]` (telegramTarget, slackTarget) → its source and chat. */
function whereOf(origin: WorkOrigin): { channel: string; source?: string; chat?: string } {
  const target = origin.address?.target;
  if (!target) return { channel: origin.channel };
  const [source, chat] = target.split(':');
  return { channel: origin.address?.channel ?? origin.channel, source, chat };
}

function matches(route: ProfileRoute, where: ReturnType<typeof whereOf>): boolean {
  return (
    (route.channel === undefined || route.channel === where.channel) &&
    (route.source === undefined || route.source === where.source) &&
    (route.chat === undefined || String(route.chat) === where.chat)
  );
}

/**
 * Which profile a new conversation runs with: `/ask_<name>` at the start of its first
 * message (for a profile with `command: true`), else the first `profileRoutes` line
 * matching where it started, else `default`. A pure function of the config and the
 * work's origin and input, so every re-run of the work chooses the same.
 */
export function chooseProfile(
  base: AgentConfig,
  origin: WorkOrigin,
  text: string | undefined,
): ChosenProfile {
  const asked = text === undefined ? null : ASK_COMMAND.exec(text);
  const askedName = asked?.[1]?.toLowerCase();
  if (asked && askedName && Object.hasOwn(base.profiles, askedName)) {
    if (base.profiles[askedName]?.command) {
      return {
        name: askedName,
        settings: profileSettings(base, askedName),
        // A bare `/ask_<name>` keeps its text: the model gets something to answer.
        text: text!.slice(asked[0].length).trim() || text,
      };
    }
  }
  const where = whereOf(origin);
  const route = base.profileRoutes.find((r) => matches(r, where));
  const name = route?.profile ?? 'default';
  return { name, settings: profileSettings(base, name), text };
}
