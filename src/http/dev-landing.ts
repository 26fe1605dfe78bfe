import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** What a browser opening /graphql sees outside prod: static, no script, nothing taken from the request. */
const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Parley GraphQL API</title></head>
<body>
<h1>Parley GraphQL API</h1>
<p>This address is the GraphQL endpoint. It answers <code>POST</code> requests with a JSON body
(<code>Content-Type: application/json</code>) and graphql-ws subscriptions on this same path,
not page loads, which is why a browser gets this page instead of an error.</p>
<p>Try it from a terminal:</p>
<pre>curl -s http://localhost:4000/graphql -H 'content-type: application/json' -d '{"query":"{ __typename }"}'</pre>
<p>Where to read on: <code>README.md</code> (setting up, configuration, using the API with examples),
<code>schema.graphql</code> (exactly what is served), <code>SECURITY.md</code> (what each control does).
Signing up needs a solved captcha: <code>captchaChallenge</code> gives the challenge.</p>
<p>When the web client is built (<code>npm run web</code>), it is at <a href="/">/</a>.</p>
<p>This page is served outside <code>APP_ENV=prod</code> only.</p>
</body>
</html>
`;

/**
 * Outside prod: a browser's page load of `/graphql` (GET, no `query`, HTML preferred over JSON)
 * gets a short page pointing to the docs instead of the CSRF refusal Apollo gives it. Every
 * other request goes on to GraphQL unchanged; prod never serves pages.
 */
export function devLandingPage(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const wantsPage = req.method === 'GET' && req.query.query === undefined && req.accepts(['application/json', 'text/html']) === 'text/html';
    if (!wantsPage) return next();
    res.status(200).set({ 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).send(PAGE);
  };
}
