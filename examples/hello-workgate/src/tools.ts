import { z } from 'zod';
import { defineTool } from '@workgate/sdk';

/** A tool the agent workflows may call: looks an order up (here, from a fixed table). */
export const lookupOrder = defineTool({
  name: 'lookup_order',
  description: 'Looks an order up by its id and says where it is',
  parameters: z.object({ id: z.string() }),
  run: async ({ id }) => ({ id, status: id.startsWith('x') ? 'lost' : 'shipped' }),
});
