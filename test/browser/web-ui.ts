import type { Page } from 'puppeteer-core';

/**
 * Steps through the real web client the way a person does (helpers for test/browser/*): the
 * captcha is solved by the ALTCHA widget in the page, never bypassed.
 */
export const STRONG_PASSWORD = 'Correct-Horse-Battery-Staple-41';

let counter = 0;
export function uniqueEmail(tag: string): string {
  counter += 1;
  return `${tag}-${process.pid}-${Date.now()}-${counter}@example.com`;
}

/** Empties a (React-controlled) input the way a person does: select all, delete. */
export async function clearInput(page: Page, selector: string): Promise<void> {
  await page.click(selector, { count: 3 });
  await page.keyboard.press('Backspace');
}

async function fillAuthForm(page: Page, email: string, password: string): Promise<void> {
  await page.waitForSelector('input[name=email]');
  await clearInput(page, 'input[name=email]');
  await page.type('input[name=email]', email);
  await page.type('input[name=password]', password);
  // The submit button is enabled once the widget has solved this attempt's challenge.
  await page.waitForSelector('button[name=submit]:not([disabled])', { timeout: 30_000 });
  await page.click('button[name=submit]');
}

/** Opens the app's sign-in screen at `url`. */
export async function openApp(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/`, { waitUntil: 'domcontentloaded' });
}

/** Registers through the "Create account" tab and waits until signed in. */
export async function registerInUi(page: Page, email: string, password = STRONG_PASSWORD): Promise<void> {
  await page.waitForSelector('button[role=tab]');
  await page.click('button[role=tab]:nth-of-type(2)');
  await page.waitForSelector('form[aria-label="Create account"]');
  await fillAuthForm(page, email, password);
  await page.waitForSelector('[data-testid=whoami]', { timeout: 30_000 });
}

/** Signs in and waits until signed in; a refusal fails with the message the page shows. */
export async function signInInUi(page: Page, email: string, password = STRONG_PASSWORD): Promise<void> {
  await page.waitForSelector('form[aria-label="Sign in"]');
  await fillAuthForm(page, email, password);
  const outcome = await page.waitForSelector('[data-testid=whoami], form [role=alert]', { timeout: 30_000 });
  const refused = await outcome!.evaluate((el) => (el.getAttribute('role') === 'alert' ? el.textContent : null));
  if (refused !== null) throw new Error(`sign-in refused: ${refused}`);
}

/** Signs in expecting a refusal; returns the alert's text. */
export async function signInRefused(page: Page, email: string, password: string): Promise<string> {
  await page.waitForSelector('form[aria-label="Sign in"]');
  await fillAuthForm(page, email, password);
  const alert = await page.waitForSelector('form[aria-label="Sign in"] [role=alert]', { timeout: 30_000 });
  return (await alert!.evaluate((el) => el.textContent)) ?? '';
}

export async function text(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (el) => el.textContent ?? '');
}
