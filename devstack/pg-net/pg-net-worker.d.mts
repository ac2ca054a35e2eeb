// Types of pg-net-worker.mjs for the TypeScript tests that start it.
export function startPgNetWorker(
  databaseUrl: string,
  options?: { log?: (line: string) => void },
): Promise<{ stop(): Promise<void> }>;
