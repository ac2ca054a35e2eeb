// Types of functions-command.mjs for TypeScript callers.
export const FUNCTIONS_SERVER_COMMAND: string;
export const FUNCTIONS_SERVER_ARGS: string[];
