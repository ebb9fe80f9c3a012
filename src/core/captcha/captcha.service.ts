import type { Ctx } from '../context.js';
import { digestsEqual, hmacHex, randomToken } from '../shared/secrets.js';
import { generateQuestion, normalizeAnswer } from './captcha.questions.js';
import * as repo from './captcha.repository.js';

export const CAPTCHA_TTL_SECONDS = 15 * 60;

export interface Captcha {
  id: string;
  question: string;
}

function answerDigest(ctx: Ctx, id: string, answer: string): string {
  return hmacHex(ctx.settings.secret, `${id}:${normalizeAnswer(answer)}`);
}

export async function issueCaptcha(ctx: Ctx): Promise<Captcha> {
  const now = ctx.clock();
  const id = randomToken(16);
  const { question, answers } = generateQuestion();
  await repo.insertCaptcha(ctx.db, {
    id,
    question,
    answer_digests: [...new Set(answers.map((a) => answerDigest(ctx, id, a)))],
    expires_at: new Date(now.getTime() + CAPTCHA_TTL_SECONDS * 1000),
    created_at: now,
  });
  // Expired captchas are worthless; sweeping a few on issue keeps the table small without a job.
  await repo.deleteStaleCaptchas(ctx.db, new Date(now.getTime() - CAPTCHA_TTL_SECONDS * 1000));
  return { id, question };
}

/**
 * Uses up the captcha whatever the answer, so each question gets exactly one try.
 * Unknown, expired or used ids count as wrong answers.
 */
export async function solveCaptcha(ctx: Ctx, id: string | undefined, answer: string | undefined): Promise<Captcha | null> {
  if (!id || id.length > 100) return null;
  const row = await repo.consumeCaptcha(ctx.db, id, ctx.clock());
  if (!row || answer === undefined || answer.length > 200) return null;
  const digest = answerDigest(ctx, id, answer);
  const correct = row.answer_digests.some((d) => digestsEqual(d, digest));
  return correct ? { id: row.id, question: row.question } : null;
}
