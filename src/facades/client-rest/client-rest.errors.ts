import type { FastifyReply } from 'fastify';
import type { AppError } from '../../errors/app-error.js';
import { sendJsonError } from '../admin-rest/admin.errors.js';

// The client area's API answers in the admin API's error shape and statuses (so the console's one
// error reader serves both), without the admin API's Bearer challenge: its credential is a cookie.
export function sendClientError(reply: FastifyReply, err: AppError): FastifyReply {
  return sendJsonError(reply, err);
}
