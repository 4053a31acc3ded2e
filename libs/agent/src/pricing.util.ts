import { type AgentConfig } from '@app/config';
import { type LlmUsage } from '@app/engine';

/**
 * USD for one call from the price table (per 1M tokens). Cached input tokens are part
 * of inputTokens and billed at the cached price (input price when none is set). A
 * model missing from the table costs 0; a dated snapshot (`gpt-4o-2024-08-06`) falls
 * back to its base name's price.
 */
export function costOf(prices: AgentConfig['prices'], model: string, usage: LlmUsage): number {
  const price =
    (Object.hasOwn(prices, model) ? prices[model] : undefined) ??
    Object.entries(prices)
      .filter(([name]) => model.startsWith(`${name}-`))
      .sort(([a], [b]) => b.length - a.length)[0]?.[1];
  if (!price) return 0;
  const cached = Math.min(usage.cachedTokens, usage.inputTokens);
  const usd =
    ((usage.inputTokens - cached) * price.input +
      cached * (price.cached ?? price.input) +
      usage.outputTokens * price.output) /
    1_000_000;
  // ModelCall.costUsd is numeric(14, 6): rounding here keeps the step's record and the row equal.
  return Math.round(usd * 1e6) / 1e6;
}
