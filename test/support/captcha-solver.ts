/**
 * Answers the sign-up captcha from its question text alone, as a person would; tests never read
 * answers from the database. Covers every question kind in src/core/captcha/captcha.questions.ts
 * and throws on anything else, so a new kind fails loudly instead of silently.
 */
const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

export function wordsToNumber(words: string): number {
  const w = words.trim().toLowerCase();
  if (/^[0-9]+$/.test(w)) return Number(w);
  const [tens, ones] = w.split('-');
  const one = ONES.indexOf(tens!);
  if (one >= 0 && ones === undefined) return one;
  const ten = TENS.indexOf(tens!);
  if (ten < 2) throw new Error(`not a number in words: ${words}`);
  if (ones === undefined) return ten * 10;
  const unit = ONES.indexOf(ones);
  if (unit < 1 || unit > 9) throw new Error(`not a number in words: ${words}`);
  return ten * 10 + unit;
}

const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);
const dayIndex = (name: string) => {
  const i = DAYS.indexOf(name.toLowerCase());
  if (i < 0) throw new Error(`not a day: ${name}`);
  return i;
};

export function solveCaptcha(question: string): string {
  let m: RegExpExecArray | null;
  if ((m = /^If tomorrow is (\w+), what day is today\?$/.exec(question))) return cap(DAYS[(dayIndex(m[1]!) + 6) % 7]!);
  if ((m = /^If yesterday was (\w+), what day is today\?$/.exec(question))) return cap(DAYS[(dayIndex(m[1]!) + 1) % 7]!);
  if ((m = /^Which month comes after (\w+)\?$/.exec(question))) {
    const i = MONTHS.indexOf(m[1]!.toLowerCase());
    if (i < 0) throw new Error(`not a month: ${m[1]}`);
    return cap(MONTHS[(i + 1) % 12]!);
  }
  if ((m = /^What is ([a-z-]+) plus ([a-z-]+)\?$/.exec(question))) return String(wordsToNumber(m[1]!) + wordsToNumber(m[2]!));
  if ((m = /^What is ([a-z-]+) minus ([a-z-]+)\?$/.exec(question))) return String(wordsToNumber(m[1]!) - wordsToNumber(m[2]!));
  if ((m = /^How many letters are in the word "([a-z]+)"\?$/.exec(question))) return String(m[1]!.length);
  if ((m = /^Which is the largest number: (.+)\?$/.exec(question))) return String(Math.max(...m[1]!.split(',').map(wordsToNumber)));
  throw new Error(`unknown captcha question: ${question}`);
}

/** An answer that is certainly wrong for the question. */
export function wrongAnswer(question: string): string {
  const right = solveCaptcha(question);
  return /^[0-9]+$/.test(right) ? String(Number(right) + 100) : 'definitely-not-' + right;
}
