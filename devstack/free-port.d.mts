// Types of free-port.mjs for TypeScript callers (the agent's tests and local pipeline).
export function freePort(): Promise<number>;
