import { loadConfig } from '@app/config';
import { agentWorkflows } from './workflows';
import { assertAgentConfigured } from './worker.module';

const config = (overrides: Record<string, unknown>) =>
  loadConfig({ env: {}, path: null, overrides });

describe(assertAgentConfigured.name, () => {
  const route = {
    webhooks: {
      sources: {
        chat: {
          scheme: 'none',
          allowUnsigned: true,
          idempotency: { header: 'x-id' },
          workflow: 'assistant',
        },
      },
    },
  };

  it('refuses a route to `assistant` without `agent:`, naming the route and the missing setting', () => {
    expect(() => assertAgentConfigured(config(route))).toThrow(
      /webhooks\.sources\.chat\.workflow opens "assistant".*`agent` setting is missing/,
    );
  });

  it('accepts it with a model, and registers the assistant only then', () => {
    const withAgent = config({ ...route, agent: { apiKey: 'k', model: 'm' } });
    expect(() => assertAgentConfigured(withAgent)).not.toThrow();
    expect(agentWorkflows(withAgent).map((w) => w.name)).toEqual(['assistant']);
    expect(agentWorkflows(config({}))).toEqual([]);
    expect(() => assertAgentConfigured(config({}))).not.toThrow();
  });
});
