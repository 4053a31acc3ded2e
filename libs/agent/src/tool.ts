import { z } from 'zod';
import { type LlmToolSpec, type StepContext, type WorkflowContext } from '@app/engine';
import { type AgentConfig } from '@app/config';

/** What a tool's code receives besides its arguments. */
export interface ToolContext {
  /** The assistant's work: tools built on ctx primitives (ask, waitFor, sleep, send) use it. */
  ctx: WorkflowContext;
  settings: AgentConfig;
}

interface ToolBase<TParams extends z.ZodType> {
  /** What the model calls it: letters, digits, `_` and `-` (the OpenAI limit). */
  name: string;
  /** Tells the model when to use it. */
  description: string;
  parameters: TParams;
  /** An approver answers yes or no (chat buttons) before it runs; a no goes back to the model. */
  requiresApproval?: boolean;
}

/**
 * A tool with a side effect: runs inside one step (its own idempotency key, passed on
 * to whatever it calls), so a replay returns the recorded result and a crash mid-way
 * runs it again with the same key.
 */
export interface EffectTool<TParams extends z.ZodType = z.ZodType> extends ToolBase<TParams> {
  run(args: z.output<TParams>, step: StepContext, tool: ToolContext): Promise<unknown>;
  workflow?: never;
}

/**
 * A tool made of workflow primitives (ctx.ask, ctx.waitFor, ctx.sleep, ctx.send): each
 * of those is its own step, so it is not wrapped in another.
 */
export interface WorkflowTool<TParams extends z.ZodType = z.ZodType> extends ToolBase<TParams> {
  workflow(args: z.output<TParams>, tool: ToolContext): Promise<unknown>;
  run?: never;
}

export type AgentTool<TParams extends z.ZodType = z.ZodType> =
  EffectTool<TParams> | WorkflowTool<TParams>;

/** Declares a tool; typed arguments from its zod schema. */
export function defineTool<TParams extends z.ZodType>(tool: AgentTool<TParams>): AgentTool {
  if (!/^[a-zA-Z0-9_-]{1,64}$/.test(tool.name))
    throw new Error(`tool name "${tool.name}": 1-64 of letters, digits, _ and -`);
  return tool;
}

/** The tool list as the model sees it: zod parameters → JSON Schema (zod 4's own converter). */
export function toolSpecs(tools: AgentTool[]): LlmToolSpec[] {
  return tools.map((t) => {
    const { $schema: _ignored, ...schema } = z.toJSONSchema(t.parameters, { io: 'input' });
    return { name: t.name, description: t.description, parameters: schema };
  });
}

/** Tools by name; a second tool of a name is a mistake, not an override. */
export class ToolRegistry {
  private readonly tools = new Map<string, AgentTool>();

  register(...tools: AgentTool[]): this {
    for (const tool of tools) {
      if (this.tools.has(tool.name)) throw new Error(`tool "${tool.name}" is registered twice`);
      this.tools.set(tool.name, tool);
    }
    return this;
  }

  get(name: string): AgentTool | undefined {
    return this.tools.get(name);
  }

  list(): AgentTool[] {
    return [...this.tools.values()];
  }
}

/**
 * Tools users register from their own workflow modules (loaded by the worker at start
 * through `workflows.modules`): every assistant workflow without an explicit tool list
 * offers them besides the built-ins.
 */
export const userTools = new ToolRegistry();

/** Adds a tool to every assistant (see userTools). */
export function registerTool<TParams extends z.ZodType>(tool: AgentTool<TParams>): AgentTool {
  const defined = defineTool(tool);
  userTools.register(defined);
  return defined;
}
