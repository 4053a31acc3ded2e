import { sendMessageTool } from './builtin-tools';
import { type WorkflowTool } from './tool';

describe(sendMessageTool.name, () => {
  const settings = { targets: { ops: { channel: 'http', target: 'ops' } } } as never;
  const tool = sendMessageTool(settings) as WorkflowTool;
  // The model names the destination; nothing may be sent for a name that is not configured.
  const ctx = {
    send: () => {
      throw new Error('nothing may be sent');
    },
  } as never;

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'a destination named %s by the model is unknown, and nothing is sent',
    async (to) => {
      const result = await tool.workflow({ to, text: 'hello' }, { ctx } as never);
      expect(result).toMatchObject({ error: expect.stringContaining(`no destination "${to}"`) });
    },
  );
});
