// Types of local-env.mjs for TypeScript callers (the scenario suite, the benchmarks).
export const FUNCTIONS_PORT: number;
export function localEnv(
  options: { databaseUrl: string; functionsPort?: number },
): Promise<Record<string, string>>;
