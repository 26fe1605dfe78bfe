import { useQuery } from '@apollo/client/react';
import { useEffect, useRef } from 'react';
import 'altcha/external';
import 'altcha/altcha.css';
import AltchaWorker from 'altcha/worker?worker';
import { graphql } from '../gql';
import { describeProblem, problemOf } from '../errors';

// The "external" build keeps the widget's CSS and worker in files of their own, so it runs
// under a CSP without 'unsafe-inline' or blob: workers; the worker is bundled by Vite.
globalThis.altchaCreateWorker = () => new AltchaWorker();

const CAPTCHA_CHALLENGE = graphql(`
  query CaptchaChallenge {
    captchaChallenge {
      provider
      challenge
    }
  }
`);

/**
 * ALTCHA proof of work for the server's challenge: fetched over GraphQL (each solved challenge
 * is accepted once, so the parent remounts this after every attempt), solved in a worker as
 * soon as it shows, and handed up as the base64 payload `login`/`register` take.
 */
export function Captcha({ onSolved }: { onSolved: (payload: string | null) => void }) {
  const { data, error } = useQuery(CAPTCHA_CHALLENGE, { fetchPolicy: 'no-cache' });
  const ref = useRef<HTMLElement>(null);
  const challenge = data?.captchaChallenge;

  useEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    const onChange = (event: Event) => {
      const detail = (event as CustomEvent<{ state: string; payload?: string }>).detail;
      onSolved(detail.state === 'verified' && detail.payload ? detail.payload : null);
    };
    el.addEventListener('statechange', onChange);
    return () => el.removeEventListener('statechange', onChange);
  }, [challenge, onSolved]);

  if (error) return <p className="error">Could not get a captcha challenge: {describeProblem(problemOf(error))}</p>;
  if (!challenge) return <p className="muted">Preparing the captcha…</p>;
  if (challenge.provider !== 'altcha') return <p className="error">This app supports the ALTCHA captcha only (the server uses {challenge.provider}).</p>;
  return <altcha-widget ref={ref} data-testid="captcha" challengejson={JSON.stringify(challenge.challenge)} auto="onload" hidefooter hidelogo />;
}
