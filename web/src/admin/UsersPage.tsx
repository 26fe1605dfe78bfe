import { useMutation, useQuery } from '@apollo/client/react';
import { useState, type FormEvent } from 'react';
import { graphql } from '../gql';
import type { AdminUserFieldsFragment, Role, UserFilter } from '../gql/graphql';
import { useSession } from '../app-context';
import { describeProblem, problemOf } from '../errors';
import { LoadMore, useLoadMore } from '../ui/load-more';
import { formatTime } from './format';

/** What the users table shows; the mutations answer with it so the cache updates the row. */
export const ADMIN_USER_FIELDS = graphql(`
  fragment AdminUserFields on User {
    id
    email
    displayName
    role
    createdAt
    lockedUntil
  }
`);

const ADMIN_USERS = graphql(`
  query AdminUsers($filter: UserFilter, $first: Int, $after: String) {
    users(filter: $filter, first: $first, after: $after) {
      edges {
        cursor
        node {
          ...AdminUserFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const SET_USER_ROLE = graphql(`
  mutation AdminSetUserRole($userId: ID!, $role: Role!) {
    setUserRole(userId: $userId, role: $role) {
      ...AdminUserFields
    }
  }
`);

const LOCK_USER = graphql(`
  mutation AdminLockUser($userId: ID!, $minutes: Int!, $reason: String!) {
    lockUser(userId: $userId, minutes: $minutes, reason: $reason) {
      ...AdminUserFields
    }
  }
`);

const UNLOCK_USER = graphql(`
  mutation AdminUnlockUser($userId: ID!) {
    unlockUser(userId: $userId) {
      ...AdminUserFields
    }
  }
`);

const REVOKE_USER_SESSIONS = graphql(`
  mutation AdminRevokeUserSessions($userId: ID!) {
    revokeUserSessions(userId: $userId)
  }
`);

const ROLES: Role[] = ['USER', 'AUDITOR', 'ADMIN'];

/** One `<option>` per role, for the filter and for each user's role picker. */
function RoleOptions() {
  return ROLES.map((r) => (
    <option key={r} value={r}>
      {r}
    </option>
  ));
}
const PAGE = 20;

type Outcome = { ok: boolean; text: string } | null;

function isLocked(user: AdminUserFieldsFragment): boolean {
  return user.lockedUntil !== null && user.lockedUntil !== undefined && Date.parse(user.lockedUntil) > Date.now();
}

/** The filter form: what it holds is applied only on submit, so typing does not query per key. */
function UserFilterForm({ onApply }: { onApply: (filter: UserFilter) => void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role | ''>('');
  const [locked, setLocked] = useState<'' | 'true' | 'false'>('');
  function submit(event: FormEvent) {
    event.preventDefault();
    onApply({
      ...(email.trim() ? { emailContains: email.trim() } : {}),
      ...(role ? { role } : {}),
      ...(locked ? { locked: locked === 'true' } : {}),
    });
  }
  return (
    <form className="filters" onSubmit={submit} aria-label="Filter users">
      <label>
        Email contains
        <input name="emailContains" value={email} onChange={(e) => setEmail(e.target.value)} />
      </label>
      <label>
        Role
        <select name="role" value={role} onChange={(e) => setRole(e.target.value as Role | '')}>
          <option value="">any</option>
          <RoleOptions />
        </select>
      </label>
      <label>
        Locked
        <select name="locked" value={locked} onChange={(e) => setLocked(e.target.value as '' | 'true' | 'false')}>
          <option value="">any</option>
          <option value="true">locked now</option>
          <option value="false">not locked</option>
        </select>
      </label>
      <button type="submit">Apply</button>
    </form>
  );
}

/** Minutes and a reason, then `lockUser` (which also ends the user's sessions). */
function LockForm({ user, onDone }: { user: AdminUserFieldsFragment; onDone: (result: Outcome) => void }) {
  const [minutes, setMinutes] = useState('60');
  const [reason, setReason] = useState('');
  const [lock, { loading }] = useMutation(LOCK_USER);
  async function submit(event: FormEvent) {
    event.preventDefault();
    try {
      const { data } = await lock({ variables: { userId: user.id, minutes: Number(minutes), reason } });
      onDone({ ok: true, text: `Locked until ${formatTime(data?.lockUser.lockedUntil ?? null)}; their sessions were ended.` });
      setReason('');
    } catch (err) {
      onDone({ ok: false, text: describeProblem(problemOf(err)) });
    }
  }
  return (
    <form className="inline" onSubmit={submit} aria-label={`Lock ${user.email}`}>
      <label>
        Minutes
        <input name="lockMinutes" type="number" min={1} max={525600} required value={minutes} onChange={(e) => setMinutes(e.target.value)} />
      </label>
      <label>
        Reason
        <input name="lockReason" required maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
      <button type="submit" disabled={loading}>
        Lock
      </button>
    </form>
  );
}

function UserRow({ user, isMe }: { user: AdminUserFieldsFragment; isMe: boolean }) {
  const [result, setResult] = useState<Outcome>(null);
  const [setRole, roleState] = useMutation(SET_USER_ROLE);
  const [unlock, unlockState] = useMutation(UNLOCK_USER);
  const [revoke, revokeState] = useMutation(REVOKE_USER_SESSIONS);
  const locked = isLocked(user);

  async function run(action: () => Promise<string>) {
    setResult(null);
    try {
      setResult({ ok: true, text: await action() });
    } catch (err) {
      setResult({ ok: false, text: describeProblem(problemOf(err)) });
    }
  }
  const changeRole = (role: Role) =>
    run(async () => {
      await setRole({ variables: { userId: user.id, role } });
      return `Role set to ${role}; their sessions were ended so it applies at once.`;
    });
  const unlockUser = () =>
    run(async () => {
      await unlock({ variables: { userId: user.id } });
      return 'Unlocked.';
    });
  const revokeSessions = () => {
    if (!window.confirm(`Sign ${user.email} out of every session?`)) return;
    void run(async () => {
      await revoke({ variables: { userId: user.id } });
      return 'Every session of this user was ended.';
    });
  };

  return (
    <tr data-testid="user-row" data-user-id={user.id} data-email={user.email} data-locked={locked}>
      <td>
        {user.email}
        {isMe && <em> (you)</em>}
        {user.displayName && <div className="muted">{user.displayName}</div>}
        <div className="muted mono">{user.id}</div>
      </td>
      <td>
        <label className="compact">
          <span className="sr-only">Role of {user.email}</span>
          <select name="role" value={user.role} disabled={roleState.loading} onChange={(e) => void changeRole(e.target.value as Role)}>
            <RoleOptions />
          </select>
        </label>
      </td>
      <td>{formatTime(user.createdAt)}</td>
      <td data-testid="user-locked">{locked ? `until ${formatTime(user.lockedUntil ?? null)}` : 'no'}</td>
      <td className="actions">
        {locked ? (
          <button onClick={() => void unlockUser()} disabled={unlockState.loading}>
            Unlock
          </button>
        ) : (
          <LockForm user={user} onDone={setResult} />
        )}
        <button onClick={revokeSessions} disabled={revokeState.loading}>
          Revoke sessions
        </button>
        {result && (
          <p className={result.ok ? 'ok' : 'error'} role={result.ok ? 'status' : 'alert'} data-testid="user-result">
            {result.text}
          </p>
        )}
      </td>
    </tr>
  );
}

/** Users (ADMIN only): filter, pages merged by "Load more", and each user's role, lock and sessions. */
export function UsersPage() {
  const me = useSession();
  const [filter, setFilter] = useState<UserFilter>({});
  const { data, error, loading, fetchMore, refetch } = useQuery(ADMIN_USERS, {
    variables: { filter, first: PAGE },
    fetchPolicy: 'cache-and-network',
    nextFetchPolicy: 'cache-first',
  });
  const page = data?.users;

  const after = page?.pageInfo.endCursor;
  const more = useLoadMore(after ? () => fetchMore({ variables: { after } }) : null);

  return (
    <section aria-labelledby="users-h" data-testid="users-page">
      <h2 id="users-h">Users</h2>
      <UserFilterForm onApply={setFilter} />
      <button onClick={() => void refetch()}>Refresh</button>
      {error && (
        <p className="error" role="alert">
          {describeProblem(problemOf(error))}
        </p>
      )}
      <table data-testid="users">
        <thead>
          <tr>
            <th>User</th>
            <th>Role</th>
            <th>Created</th>
            <th>Locked</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {page?.edges.map(({ node }) => (
            <UserRow key={node.id} user={node} isMe={node.id === me?.user.id} />
          ))}
        </tbody>
      </table>
      {page && page.edges.length === 0 && <p className="muted">No user matches.</p>}
      {loading && !page && <p className="muted">Loading…</p>}
      <LoadMore more={more} hasNextPage={page?.pageInfo.hasNextPage} busy={loading} />
    </section>
  );
}
