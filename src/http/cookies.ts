import type { FastifyRequest } from 'fastify';

/** One cookie of the request; undefined when absent or when its value is not valid percent-encoding. */
export function readCookie(req: FastifyRequest, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k !== name) continue;
    try {
      return decodeURIComponent(v.join('='));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * A console session cookie (operator, reseller, client area): HttpOnly so scripts never see it,
 * SameSite=Lax against cross-site posts, Secure whenever the server is reached over https.
 */
export function sessionCookie(name: string, value: string, options: { path: string; maxAge: number; secure: boolean }): string {
  return [`${name}=${value}`, `Path=${options.path}`, 'HttpOnly', 'SameSite=Lax', `Max-Age=${options.maxAge}`, ...(options.secure ? ['Secure'] : [])].join('; ');
}

/** Whether cookies set on this request must be Secure: the public URL or the request itself is https. */
export function cookiesSecure(publicUrl: string, req: Pick<FastifyRequest, 'protocol'>): boolean {
  return publicUrl.startsWith('https:') || req.protocol === 'https';
}
