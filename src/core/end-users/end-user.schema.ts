import { z } from 'zod';

const email = z
  .string({ error: 'is required' })
  .trim()
  .max(254, 'is too long (maximum is 254 characters)')
  .pipe(z.email({ error: 'is not a valid email address' }));
const password = z.string({ error: 'is required' }).min(6, 'is too short (minimum is 6 characters)').max(200, 'is too long (maximum is 200 characters)');
const nameField = z.string().trim().max(100, 'is too long (maximum is 100 characters)').optional();

export const registerEndUserInput = z.object({ email, password, first_name: nameField, last_name: nameField }).strict();
export const createEndUserInput = z.object({ login: email, password, name: z.string().trim().max(200).optional() }).strict();
export const loginInput = z.object({ email: z.string({ error: 'is required' }).min(1, 'is required').max(254), password: z.string({ error: 'is required' }).min(1, 'is required').max(200), source: z.string().max(100).optional() }).strict();

export interface EndUser {
  id: number;
  role: string;
  login: string;
  name: string | null;
  email: string | null;
  created_at: Date;
}

/** REMP's user object: first and last name are our one display name split at its first space. */
export function toRempUser(u: EndUser) {
  const [first, ...rest] = (u.name ?? '').split(' ');
  return { id: u.id, email: u.email ?? u.login, first_name: first || null, last_name: rest.length ? rest.join(' ') : null };
}
