import { z } from 'zod';
import { loadConfig } from '@app/config';
import { builtinTools } from './builtin-tools';
import { defineTool, ToolRegistry, toolSpecs } from './tool';

const settings = (agent: Record<string, unknown> = {}) =>
  loadConfig({
    env: {},
    path: null,
    overrides: { agent: { apiKey: 'k', model: 'm', ...agent } },
  }).agent!;

describe(toolSpecs.name, () => {
  it('turns zod parameters into JSON Schema for the model', () => {
    const tool = defineTool({
      name: 'greet',
      description: 'Say hello',
      parameters: z.object({
        who: z.string().describe('a name'),
        times: z.number().int().default(1),
      }),
      async run(args) {
        return `hello ${args.who}`;
      },
    });
    const [spec] = toolSpecs([tool]);
    expect(spec).toMatchObject({
      name: 'greet',
      description: 'Say hello',
      parameters: {
        type: 'object',
        properties: { who: { type: 'string', description: 'a name' }, times: { type: 'integer' } },
        required: ['who'],
      },
    });
    expect(spec!.parameters).not.toHaveProperty('$schema');
  });

  it('rejects names the API would refuse, and duplicates', () => {
    expect(() =>
      defineTool({
        name: 'has space',
        description: '',
        parameters: z.object({}),
        run: async () => 1,
      }),
    ).toThrow(/tool name/);
    const t = defineTool({
      name: 'a',
      description: '',
      parameters: z.object({}),
      run: async () => 1,
    });
    expect(() => new ToolRegistry().register(t, t)).toThrow(/twice/);
  });
});

describe(builtinTools.name, () => {
  it('offers http_request only with an allowlist, and marks configured tools for approval', () => {
    expect(builtinTools(settings()).map((t) => t.name)).toEqual([
      'ask_human',
      'wait_for_webhook',
      'schedule_wakeup',
      'send_message',
    ]);
    const tools = builtinTools(
      settings({ http: { allowHosts: ['api.example.com'] }, requireApproval: ['http_request'] }),
    );
    expect(tools.find((t) => t.name === 'http_request')?.requiresApproval).toBe(true);
    expect(tools.find((t) => t.name === 'ask_human')?.requiresApproval).toBeFalsy();
  });
});

describe('agent config', () => {
  it('takes either API, and reports an empty key by name', () => {
    expect(settings().api).toBe('chat');
    expect(settings({ api: 'responses' }).api).toBe('responses');
    expect(() => settings({ api: 'assistants' })).toThrow(/api/);
    expect(() => settings({ apiKey: '' })).toThrow(/agent\.apiKey/);
  });
  it('keeps a chat conversation open 30 minutes after an answer unless told otherwise', () => {
    expect(settings().followUpWindow).toBe(30 * 60_000);
    expect(settings({ followUpWindow: '2h' }).followUpWindow).toBe(2 * 3_600_000);
    expect(settings({ followUpWindow: 0 }).followUpWindow).toBe(0);
    expect(() => settings({ followUpWindow: 'soon' })).toThrow(/not a duration/);
  });
});
