import { describe, expect, it } from 'vitest';
import { generateQuestion, normalizeAnswer, numberInWords, questionKindCount } from '../../src/core/captcha/captcha.questions.js';
import { solveCaptcha, wordsToNumber, wrongAnswer } from '../support/captcha-solver.js';

describe('numberInWords', () => {
  it.each([
    [0, 'zero'],
    [7, 'seven'],
    [13, 'thirteen'],
    [19, 'nineteen'],
    [20, 'twenty'],
    [21, 'twenty-one'],
    [30, 'thirty'],
    [42, 'forty-two'],
    [59, 'fifty-nine'],
  ])('%i → %s', (n, words) => {
    expect(numberInWords(n)).toBe(words);
    expect(wordsToNumber(words)).toBe(n);
  });
});

describe('normalizeAnswer', () => {
  it.each([
    ['  FRIDAY ', 'friday'],
    ['Friday', 'friday'],
    ['fri day', 'friday'],
    ['Twenty-One ', 'twentyone'],
    ['twenty one', 'twentyone'],
    [' 21 ', '21'],
    ['"July".', 'july'],
    ['', ''],
  ])('%j → %j', (input, expected) => {
    expect(normalizeAnswer(input)).toBe(expected);
  });

  it('makes differently spelled answers equal', () => {
    expect(normalizeAnswer('  FRIDAY ')).toBe(normalizeAnswer('friday'));
    expect(normalizeAnswer('Twenty-One')).toBe(normalizeAnswer('twentyone'));
  });
});

describe('question bank', () => {
  it('has several kinds, each a question with at least one answer', () => {
    expect(questionKindCount).toBeGreaterThanOrEqual(5);
    for (let kind = 0; kind < questionKindCount; kind++) {
      const q = generateQuestion(kind);
      expect(q.question).toMatch(/\?$/);
      expect(q.answers.length).toBeGreaterThan(0);
      for (const a of q.answers) expect(normalizeAnswer(a)).not.toBe('');
    }
  });

  it('the seed example is one of the questions, answered "friday"', () => {
    const seen = new Map<string, string[]>();
    for (let i = 0; i < 500 && !seen.has('If tomorrow is Saturday, what day is today?'); i++) {
      const q = generateQuestion(0);
      seen.set(q.question, q.answers);
    }
    const answers = seen.get('If tomorrow is Saturday, what day is today?');
    expect(answers).toBeDefined();
    expect(answers!.map(normalizeAnswer)).toContain(normalizeAnswer('friday'));
  });

  it('numeric answers accept digits and words', () => {
    for (let i = 0; i < 50; i++) {
      const q = generateQuestion(3);
      const n = wordsToNumber(q.answers[0]!);
      expect(q.answers.map(normalizeAnswer)).toEqual(expect.arrayContaining([String(n), normalizeAnswer(numberInWords(n))]));
    }
  });

  it('every question of every kind is solvable from its text (the test solver agrees with the bank)', () => {
    for (let kind = 0; kind < questionKindCount; kind++) {
      for (let i = 0; i < 200; i++) {
        const q = generateQuestion(kind);
        const accepted = q.answers.map(normalizeAnswer);
        expect(accepted, q.question).toContain(normalizeAnswer(solveCaptcha(q.question)));
        expect(accepted, q.question).not.toContain(normalizeAnswer(wrongAnswer(q.question)));
      }
    }
  });

  it('random questions vary', () => {
    const questions = new Set(Array.from({ length: 50 }, () => generateQuestion().question));
    expect(questions.size).toBeGreaterThan(10);
  });
});
