import { useMutation } from '@apollo/client/react';
import { lazy, Suspense, useCallback, useState, type FormEvent } from 'react';
import { graphql } from '../gql';
import { useApp } from '../app-context';
import { describeProblem, problemOf } from '../errors';

// The widget and its solver load only when someone signs in or registers, not for a signed-in reload.
const Captcha = lazy(() => import('./Captcha').then((m) => ({ default: m.Captcha })));

const LOGIN = graphql(`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      ...AuthFields
    }
  }
`);

const REGISTER = graphql(`
  mutation Register($input: RegisterInput!) {
    register(input: $input) {
      ...AuthFields
    }
  }
`);

/** Sign in or create an account; both need a solved captcha. */
export function AuthPage() {
  const { session } = useApp();
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [captcha, setCaptcha] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [login, loginState] = useMutation(LOGIN);
  const [register, registerState] = useMutation(REGISTER);
  const busy = loginState.loading || registerState.loading;
  const onSolved = useCallback((payload: string | null) => setCaptcha(payload), []);
  const notice = session.lastNotice();

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!captcha) return;
    setError(null);
    try {
      if (mode === 'login') {
        const { data } = await login({ variables: { input: { email, password, captcha } } });
        if (data) session.signedIn(data.login);
      } else {
        const { data } = await register({ variables: { input: { email, password, captcha, displayName: displayName || null } } });
        if (data) session.signedIn(data.register);
      }
    } catch (err) {
      setError(describeProblem(problemOf(err)));
      setCaptcha(null);
      setAttempt((n) => n + 1); // a challenge is good for one attempt
    }
  }

  return (
    <main className="auth">
      <h1>Parley</h1>
      {notice && (
        <p className="notice" data-testid="signed-out-notice">
          {notice}
        </p>
      )}
      <div className="tabs" role="tablist">
        <button role="tab" aria-selected={mode === 'login'} onClick={() => setMode('login')}>
          Sign in
        </button>
        <button role="tab" aria-selected={mode === 'register'} onClick={() => setMode('register')}>
          Create account
        </button>
      </div>
      <form onSubmit={submit} aria-label={mode === 'login' ? 'Sign in' : 'Create account'}>
        <label>
          Email
          <input name="email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {mode === 'register' && (
          <label>
            Display name (optional)
            <input name="displayName" value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
          </label>
        )}
        <Suspense fallback={<p className="muted">Loading the captcha…</p>}>
          <Captcha key={`${mode}-${attempt}`} onSolved={onSolved} />
        </Suspense>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" name="submit" disabled={busy || !captcha}>
          {busy ? 'Please wait…' : !captcha ? 'Solving the captcha…' : mode === 'login' ? 'Sign in' : 'Create account'}
        </button>
      </form>
    </main>
  );
}
