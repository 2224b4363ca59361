import type { z } from 'zod';

/** One problem of a rejected body, as the API reports it. */
export interface ValidationIssue {
  /** Dotted path to the offending field; empty for the body itself. */
  path: string;
  message: string;
}

export function toValidationIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
}
