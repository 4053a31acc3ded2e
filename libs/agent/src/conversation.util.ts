import { type AgentConfig } from '@app/config';
import { type LlmMessage, type LlmRequest } from '@app/engine';

/** Where droppable history starts: after a leading system message. */
export function historyStart(messages: LlmMessage[]): number {
  return messages[0]?.role === 'system' ? 1 : 0;
}

/**
 * The request without its oldest turn: the first message after the system prompt, and
 * with an assistant message its tool results too (a tool result without the call that
 * asked for it is rejected by the API). Null when only the latest message is left.
 */
export function trimOldestTurn(request: LlmRequest): LlmRequest | null {
  const { messages } = request;
  const start = historyStart(messages);
  let end = start + 1;
  while (end < messages.length && messages[end]!.role === 'tool') end++;
  if (end >= messages.length) return null;
  return { ...request, messages: [...messages.slice(0, start), ...messages.slice(end)] };
}

export interface Spend {
  tokens: number;
  costUsd: number;
  turns: number;
}

export type BudgetLimits = AgentConfig['budget'];
export type BudgetDimension = keyof Spend;

/** The first limit reached or passed, if any (checked before each model call). */
export function budgetPassed(spent: Spend, limits: BudgetLimits): BudgetDimension | null {
  if (limits.tokens !== undefined && spent.tokens >= limits.tokens) return 'tokens';
  if (limits.costUsd !== undefined && spent.costUsd >= limits.costUsd) return 'costUsd';
  if (spent.turns >= limits.turns) return 'turns';
  return null;
}

/** An approval raises the passed limit by the configured amount once more. */
export function raiseLimit(
  limits: BudgetLimits,
  base: BudgetLimits,
  which: BudgetDimension,
): BudgetLimits {
  switch (which) {
    case 'tokens':
      return { ...limits, tokens: (limits.tokens ?? 0) + (base.tokens ?? 0) };
    case 'costUsd':
      return { ...limits, costUsd: (limits.costUsd ?? 0) + (base.costUsd ?? 0) };
    case 'turns':
      return { ...limits, turns: limits.turns + base.turns };
  }
}

export function describeSpend(spent: Spend, limits: BudgetLimits, which: BudgetDimension): string {
  switch (which) {
    case 'tokens':
      return `${spent.tokens} tokens used (limit ${limits.tokens})`;
    case 'costUsd':
      return `$${spent.costUsd.toFixed(4)} spent (limit $${limits.costUsd})`;
    case 'turns':
      return `${spent.turns} model calls made (limit ${limits.turns})`;
  }
}

/**
 * Whether a URL may be fetched by http_request: http(s) only, and its host on the
 * allowlist — `example.com` (any port), `*.example.com` (subdomains), `host:port` (exact).
 */
export function isHostAllowed(url: string, allowHosts: string[]): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  const hostname = u.hostname.toLowerCase();
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  return allowHosts.some((raw) => {
    const pattern = raw.toLowerCase();
    if (pattern.startsWith('*.')) return hostname.endsWith(pattern.slice(1));
    const colon = pattern.lastIndexOf(':');
    if (colon > 0 && /^\d+$/.test(pattern.slice(colon + 1)))
      return `${hostname}:${port}` === pattern;
    return hostname === pattern;
  });
}
