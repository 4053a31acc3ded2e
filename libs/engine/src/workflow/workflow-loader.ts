import { dirname, isAbsolute, resolve } from 'node:path';
import { type WorkflowDefinition } from './define-workflow';

function isDefinition(value: unknown): value is WorkflowDefinition {
  const v = value as Partial<WorkflowDefinition> | null;
  return (
    !!v &&
    typeof v === 'object' &&
    typeof v.name === 'string' &&
    typeof v.fn === 'function' &&
    typeof v.options === 'object'
  );
}

/**
 * Loads user workflow modules (compiled JavaScript, CommonJS or ESM through Node's
 * require(esm)): every exported definition, array of definitions, or default export.
 * Paths are relative to the config file's folder (or the working directory).
 */
export function loadWorkflowModules(paths: string[], baseDir: string): WorkflowDefinition[] {
  const found: WorkflowDefinition[] = [];
  for (const path of paths) {
    const full = isAbsolute(path) ? path : resolve(baseDir, path);
    let mod: Record<string, unknown>;
    try {
      // A user's module, named in config at run time: only require() can load it synchronously.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      mod = require(full) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`cannot load workflow module ${full}: ${(err as Error).message}`);
    }
    const before = found.length;
    for (const value of Object.values(mod)) {
      if (isDefinition(value)) found.push(value);
      else if (Array.isArray(value)) found.push(...value.filter(isDefinition));
    }
    if (found.length === before)
      throw new Error(
        `workflow module ${full} exports no workflow definitions (use defineWorkflow)`,
      );
  }
  return found;
}

export function workflowModulePaths(config: {
  configPath?: string;
  workflows: { modules: string[] };
  env: { WORKGATE_WORKFLOWS?: string };
}): { paths: string[]; baseDir: string } {
  const extra = (config.env.WORKGATE_WORKFLOWS ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  return {
    paths: [...config.workflows.modules, ...extra],
    baseDir: config.configPath ? dirname(config.configPath) : process.cwd(),
  };
}
