import { z } from 'zod';
import { AppError, addFieldError, fieldErrors, type FieldErrors } from '../../errors/app-error.js';

/** Rails-style field key: nested paths joined with dots, array indices dropped ("domains.name"). */
function fieldKey(path: PropertyKey[]): string {
  const parts = path.filter((p) => typeof p !== 'number').map(String);
  return parts.length ? parts.join('.') : 'base';
}

function describeType(expected: string): string {
  switch (expected) {
    case 'int':
      return 'must be an integer';
    case 'array':
      return 'must be a list';
    case 'object':
      return 'must be an object';
    case 'boolean':
      return 'must be true or false';
    default:
      return `must be a ${expected}`;
  }
}

export function zodIssuesToFields(issues: z.core.$ZodIssue[], blank = "can't be blank"): FieldErrors {
  const fields: FieldErrors = fieldErrors();
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) addFieldError(fields, fieldKey([...issue.path, key]), 'is not a known attribute');
      continue;
    }
    const key = fieldKey(issue.path);
    if (issue.code === 'invalid_type') {
      addFieldError(fields, key, issue.input === undefined || issue.input === null ? blank : describeType(issue.expected));
      continue;
    }
    addFieldError(fields, key, issue.message);
  }
  return fields;
}

/** Validates untrusted input against a core schema; throws validation_failed with per-field messages. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, options: { blank?: string } = {}): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) throw AppError.validation(zodIssuesToFields(result.error.issues, options.blank));
  return result.data;
}

// Reusable field schemas with the messages every door shows.
export const optionalText = (max: number) =>
  z
    .string()
    .max(max, `is too long (maximum is ${max} characters)`)
    .transform((s) => s.trim())
    .nullish();

export const requiredText = (max: number) =>
  z
    .string()
    .transform((s) => s.trim())
    .pipe(z.string().min(1, "can't be blank").max(max, `is too long (maximum is ${max} characters)`));

export const emailAddress = z
  .string()
  .trim()
  .max(254, 'is too long (maximum is 254 characters)')
  .regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'is not a valid email address');
