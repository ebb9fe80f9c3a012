import { StatusBadge } from '../ui';

/**
 * A client's domains with their set-up status. Only the reseller's list names each one in a
 * data-domain attribute, which its browser test waits on while a domain turns ready.
 */
export function DomainBadges({ domains, tagged = false }: { domains: readonly { name: string; status: string }[]; tagged?: boolean }) {
  return (
    <>
      {domains.map((d) => (
        <span key={d.name} className="domain" data-domain={tagged ? d.name : undefined}>
          <code>{d.name}</code> <StatusBadge status={d.status} />
        </span>
      ))}
    </>
  );
}
