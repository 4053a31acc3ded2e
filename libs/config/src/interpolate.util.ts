/**
 * `${NAME}` and `${NAME:-default}` in config values come from the environment, so
 * secrets never have to live in the file. A reference to an unset variable without a
 * default is an error naming the variable (a silently empty secret would make every
 * signature check fail with a misleading 401).
 */
export function interpolateEnv(
  value: unknown,
  env: Record<string, string | undefined>,
  path = '',
  missing: string[] = [],
): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (_m, name: string, fallback?: string) => {
        // Own properties only: `${constructor}` must not find Object's own.
        const found = Object.hasOwn(env, name) ? env[name] : undefined;
        if (found !== undefined && found !== '') return found;
        if (fallback !== undefined) return fallback;
        missing.push(`${name} (at ${path || '/'})`);
        return '';
      },
    );
  }
  if (Array.isArray(value))
    return value.map((v, i) => interpolateEnv(v, env, `${path}/${i}`, missing));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env, `${path}/${k}`, missing)]),
    );
  }
  return value;
}
