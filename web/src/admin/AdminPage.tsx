import { useSession } from '../app-context';
import { href, useRoute } from '../router';
import { AuditPage } from './AuditPage';
import { SecuritySummaryPage } from './SecuritySummaryPage';
import { UsersPage } from './UsersPage';

type Tab = 'users' | 'audit' | 'summary';

const LABELS: Record<Tab, string> = { users: 'Users', audit: 'Audit log', summary: 'Security summary' };

/**
 * The admin and auditor screens, one sub-route each (`#/admin/users`, `#/admin/audit`,
 * `#/admin/summary`). Users is for ADMINs only: an AUDITOR neither sees the tab nor gets the
 * screen by typing its address (the server refuses `users` to them anyway).
 */
export function AdminPage() {
  const me = useSession();
  const route = useRoute();
  const isAdmin = me?.user.role === 'ADMIN';
  const tabs: Tab[] = isAdmin ? ['users', 'audit', 'summary'] : ['audit', 'summary'];
  const asked = route[1] as Tab | undefined;
  const tab: Tab = asked && tabs.includes(asked) ? asked : 'audit';

  return (
    <main className="admin" data-testid="admin-page">
      <h1>Administration</h1>
      <nav className="subtabs" aria-label="Administration sections">
        {tabs.map((t) => (
          <a key={t} href={href('admin', t)} aria-current={t === tab ? 'page' : undefined} data-testid={`admin-tab-${t}`}>
            {LABELS[t]}
          </a>
        ))}
      </nav>
      {tab === 'users' ? <UsersPage /> : tab === 'summary' ? <SecuritySummaryPage /> : <AuditPage />}
    </main>
  );
}
