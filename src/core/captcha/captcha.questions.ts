import { randomInt } from 'node:crypto';

export interface Question {
  question: string;
  /** Every accepted spelling; compared after normalizeAnswer. */
  answers: string[];
}

const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty'];
const WORDS = ['house', 'garden', 'river', 'window', 'planet', 'orange', 'pencil', 'bridge', 'mountain', 'coffee'];

export function numberInWords(n: number): string {
  if (n < 20) return ONES[n]!;
  const tens = TENS[Math.floor(n / 10)]!;
  return n % 10 === 0 ? tens : `${tens}-${ONES[n % 10]}`;
}

const pick = <T>(list: readonly T[]): T => list[randomInt(list.length)]!;
const numberAnswers = (n: number) => [String(n), numberInWords(n)];

// Each kind asks something a person answers at a glance and a naive script does not.
const kinds: (() => Question)[] = [
  () => {
    const i = randomInt(7);
    return { question: `If tomorrow is ${DAYS[(i + 1) % 7]}, what day is today?`, answers: [DAYS[i]!] };
  },
  () => {
    const i = randomInt(7);
    return { question: `If yesterday was ${DAYS[(i + 6) % 7]}, what day is today?`, answers: [DAYS[i]!] };
  },
  () => {
    const i = randomInt(12);
    return { question: `Which month comes after ${MONTHS[i]}?`, answers: [MONTHS[(i + 1) % 12]!] };
  },
  () => {
    const a = 1 + randomInt(12);
    const b = 1 + randomInt(12);
    return { question: `What is ${numberInWords(a)} plus ${numberInWords(b)}?`, answers: numberAnswers(a + b) };
  },
  () => {
    const a = 5 + randomInt(15);
    const b = 1 + randomInt(a - 1);
    return { question: `What is ${numberInWords(a)} minus ${numberInWords(b)}?`, answers: numberAnswers(a - b) };
  },
  () => {
    const word = pick(WORDS);
    return { question: `How many letters are in the word "${word}"?`, answers: numberAnswers(word.length) };
  },
  () => {
    const values = new Set<number>();
    while (values.size < 3) values.add(1 + randomInt(30));
    const list = [...values];
    return {
      question: `Which is the largest number: ${list.map(numberInWords).join(', ')}?`,
      answers: numberAnswers(Math.max(...list)),
    };
  },
];

export const questionKindCount = kinds.length;

export function generateQuestion(kind?: number): Question {
  return (kind === undefined ? pick(kinds) : kinds[kind % kinds.length]!)();
}

/** Case, spaces, hyphens and punctuation do not matter: "Twenty-One " equals "twentyone". */
export function normalizeAnswer(answer: string): string {
  return answer.toLowerCase().replace(/[^a-z0-9]/g, '');
}
