import { useMutation, useQuery } from '@apollo/client/react';
import { useState, type FormEvent } from 'react';
import { graphql } from '../gql';
import { useApp, useSession } from '../app-context';
import { describeProblem, problemOf } from '../errors';

const MY_SESSIONS = graphql(`
  query MySessions {
    mySessions {
      id
      createdAt
      lastUsedAt
      ip
      userAgent
      current
    }
  }
`);
const REVOKE_SESSION = graphql(`
  mutation RevokeSession($id: ID!) {
    revokeSession(id: $id)
  }
`);
const LOGOUT_ALL = graphql(`
  mutation LogoutAll {
    logoutAll
  }
`);
const CHANGE_PASSWORD = graphql(`
  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {
    changePassword(currentPassword: $currentPassword, newPassword: $newPassword)
  }
`);
const EXPORT_MY_DATA = graphql(`
  mutation ExportMyData {
    exportMyData
  }
`);
const DELETE_MY_ACCOUNT = graphql(`
  mutation DeleteMyAccount($password: String!) {
    deleteMyAccount(password: $password)
  }
`);

function when(iso: string): string {
  return new Date(iso).toLocaleString();
}

function Sessions() {
  const { session } = useApp();
  const { data, error, refetch } = useQuery(MY_SESSIONS, { fetchPolicy: 'network-only' });
  const [revoke] = useMutation(REVOKE_SESSION);
  const [logoutAll] = useMutation(LOGOUT_ALL);
  const [problem, setProblem] = useState<string | null>(null);

  async function revokeOne(id: string, current: boolean) {
    try {
      if (current) await session.ending(() => revoke({ variables: { id } }), 'You signed this session out.');
      else {
        await revoke({ variables: { id } });
        await refetch();
      }
    } catch (err) {
      setProblem(describeProblem(problemOf(err)));
    }
  }
  async function everywhere() {
    try {
      await session.ending(() => logoutAll(), 'You signed out everywhere.');
    } catch (err) {
      setProblem(describeProblem(problemOf(err)));
    }
  }

  return (
    <section aria-labelledby="sessions-h">
      <h2 id="sessions-h">Sessions</h2>
      {error && <p className="error">{describeProblem(problemOf(error))}</p>}
      {problem && <p className="error">{problem}</p>}
      <table data-testid="sessions">
        <thead>
          <tr>
            <th>Signed in</th>
            <th>Last used</th>
            <th>IP</th>
            <th>Browser</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data?.mySessions.map((s) => (
            <tr key={s.id} data-session-id={s.id} data-current={s.current}>
              <td>{when(s.createdAt)}</td>
              <td>{when(s.lastUsedAt)}</td>
              <td>{s.ip ?? '—'}</td>
              <td className="ua">{s.userAgent ?? '—'}</td>
              <td>
                {s.current ? <em>this browser</em> : null} <button onClick={() => void revokeOne(s.id, s.current)}>{s.current ? 'Sign out' : 'Revoke'}</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <button onClick={() => void everywhere()}>Sign out everywhere</button>
    </section>
  );
}

function ChangePassword() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [change, { loading }] = useMutation(CHANGE_PASSWORD);
  async function submit(event: FormEvent) {
    event.preventDefault();
    try {
      await change({ variables: { currentPassword: current, newPassword: next } });
      setResult({ ok: true, text: 'Password changed. Other sessions were signed out.' });
      setCurrent('');
      setNext('');
    } catch (err) {
      setResult({ ok: false, text: describeProblem(problemOf(err)) });
    }
  }
  return (
    <section aria-labelledby="password-h">
      <h2 id="password-h">Change password</h2>
      <form onSubmit={submit} aria-label="Change password">
        <label>
          Current password
          <input name="currentPassword" type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />
        </label>
        <label>
          New password
          <input name="newPassword" type="password" autoComplete="new-password" required value={next} onChange={(e) => setNext(e.target.value)} />
        </label>
        <button type="submit" disabled={loading}>
          Change password
        </button>
        {result && <p className={result.ok ? 'ok' : 'error'}>{result.text}</p>}
      </form>
    </section>
  );
}

function ExportAndDelete() {
  const { session } = useApp();
  const [exportData, exportState] = useMutation(EXPORT_MY_DATA);
  const [deleteAccount, deleteState] = useMutation(DELETE_MY_ACCOUNT);
  const [password, setPassword] = useState('');
  const [problem, setProblem] = useState<string | null>(null);

  async function download() {
    setProblem(null);
    try {
      const { data } = await exportData();
      const blob = new Blob([JSON.stringify(data?.exportMyData, null, 2)], { type: 'application/json' });
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `parley-export-${new Date().toISOString().slice(0, 10)}.json`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setProblem(describeProblem(problemOf(err)));
    }
  }
  async function remove(event: FormEvent) {
    event.preventDefault();
    if (!window.confirm('Delete your account and everything in it? This cannot be undone.')) return;
    try {
      await session.ending(() => deleteAccount({ variables: { password } }), 'Your account and its data were deleted.');
    } catch (err) {
      setProblem(describeProblem(problemOf(err)));
    }
  }
  return (
    <section aria-labelledby="data-h">
      <h2 id="data-h">Your data</h2>
      <button onClick={() => void download()} disabled={exportState.loading}>
        Download my data (JSON)
      </button>
      <form onSubmit={remove} aria-label="Delete account" className="danger">
        <label>
          Password, to delete the account
          <input
            name="deletePassword"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <button type="submit" disabled={deleteState.loading}>
          Delete my account
        </button>
      </form>
      {problem && <p className="error">{problem}</p>}
    </section>
  );
}

export function AccountPage() {
  const me = useSession();
  return (
    <main className="account" data-testid="account-page">
      <h1>Account</h1>
      <p>
        {me?.user.email} · {me?.user.role}
      </p>
      <Sessions />
      <ChangePassword />
      <ExportAndDelete />
    </main>
  );
}
