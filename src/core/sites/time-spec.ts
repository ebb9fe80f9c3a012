/**
 * Reads the time specs DeleteDomain --since and the clean-up scope take: `now`, a span back from now
 * ("30 days", "2 weeks", "12 hours"; "30 days ago" too), a unix time, or an ISO date / date-time.
 * Returns the instant, or null when the text is not one of those.
 */
export function parseTimeSpec(raw: unknown, now: Date): Date | null {
  if (typeof raw === 'number') return Number.isFinite(raw) && raw >= 0 && raw < 1e11 ? new Date(raw * 1000) : null;
  if (typeof raw !== 'string') return null;
  const text = raw.trim().toLowerCase();
  if (text === 'now') return now;
  if (/^\d{1,11}$/.test(text)) return new Date(Number(text) * 1000);
  const span = /^(\d{1,6})\s*(second|minute|hour|day|week|month|year)s?(\s+ago)?$/.exec(text);
  if (span) {
    const n = Number(span[1]);
    const d = new Date(now);
    switch (span[2]) {
      case 'second':
        return new Date(now.getTime() - n * 1000);
      case 'minute':
        return new Date(now.getTime() - n * 60_000);
      case 'hour':
        return new Date(now.getTime() - n * 3_600_000);
      case 'day':
        return new Date(now.getTime() - n * 86_400_000);
      case 'week':
        return new Date(now.getTime() - n * 7 * 86_400_000);
      case 'month':
        d.setUTCMonth(d.getUTCMonth() - n);
        return d;
      case 'year':
        d.setUTCFullYear(d.getUTCFullYear() - n);
        return d;
    }
  }
  if (/^\d{4}-\d{2}-\d{2}([t ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
    const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T23:59:59.999Z` : text.toUpperCase().replace(' ', 'T'));
    return Number.isNaN(d.getTime()) ? null : d;
  }
  return null;
}
