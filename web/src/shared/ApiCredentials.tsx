import type { ReactNode } from 'react';
import { CopyButton } from '../ui';

/** A freshly issued token and key, each with its own copy button; `children` adds more rows to the list. */
export function ApiCredentials({ token, apiKey, children }: { token: string; apiKey: string; children?: ReactNode }) {
  return (
    <dl className="creds">
      <dt>API token</dt>
      <dd>
        <code data-testid="api-token">{token}</code>
        <CopyButton value={token} label="Copy token" />
      </dd>
      <dt>API key</dt>
      <dd>
        <code data-testid="api-key">{apiKey}</code>
        <CopyButton value={apiKey} label="Copy key" />
      </dd>
      {children}
    </dl>
  );
}
