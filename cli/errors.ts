// Errors the CLI reports as one line (never a stack trace), and its exit codes.

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** An operation failed; the message says what and where. */
export class CliError extends Error {
    constructor(message: string, readonly exitCode: number = EXIT.failed) {
        super(message);
    }
}

/** Bad arguments: exit 2, like commander's own usage errors. */
export class UsageError extends CliError {
    constructor(message: string) {
        super(message, EXIT.usage);
    }
}
