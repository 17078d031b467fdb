// The built-in pages in a real browser: one whole workflow against one fresh example server.
//
//   node workflow.mjs --base http://127.0.0.1:APP --idp http://127.0.0.1:IDP --out DIR --name axum
//
// Chromium decides every request header itself (no extraHTTPHeaders, no request rewriting), so
// what the server sees is what a user's browser sends. The workflow runs with the pages' own
// CSP in force; axe-core runs in separate `bypassCSP` contexts that reproduce each page state.
// Prints `ok  <step>` per step; on failure prints the step, URL, HTTP status and visible text,
// saves `FAIL-<step>.png` in --out and exits 1. Screenshots of every page go to --out as
// `NN-<name>.png`.

import { mkdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const TIMEOUT = 10_000;
const WATCHDOG = 200_000;

function args() {
  const out = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) usage(`bad argument ${argv[i]}`);
    out[argv[i].slice(2)] = argv[i + 1];
  }
  for (const k of ['base', 'idp', 'out']) if (!out[k]) usage(`--${k} is required`);
  out.base = out.base.replace(/\/$/, '');
  out.idp = out.idp.replace(/\/$/, '');
  out.name ??= 'app';
  return out;
}

function usage(msg) {
  console.error(`workflow.mjs: ${msg}\nusage: node workflow.mjs --base URL --idp URL --out DIR [--name NAME]`);
  process.exit(2);
}

const opts = args();
const { base, idp, out } = opts;
mkdirSync(out, { recursive: true });
const axeSource = readFileSync(join(HERE, 'node_modules/axe-core/axe.min.js'), 'utf8');

const ADMIN = { name: 'Ada Admin', org: 'Acme', email: 'admin@example.com', password: 'correct horse battery staple' };
const NEW_NAME = 'Ada Lovelace';
const NEW_PASSWORD = 'a brand new passphrase 4711';
const BOB = { name: 'Bob Builder', email: 'bob@example.com', password: 'bob builds sturdy things 99' };
const SSO = { sub: 'sso-1', email: 'sso.user@example.com', email_verified: true, name: 'Sso User' };

const started = Date.now();
const watchdog = setTimeout(() => {
  console.error(`FAIL workflow ${opts.name}: still running after ${WATCHDOG / 1000} s (watchdog)`);
  process.exit(1);
}, WATCHDOG);
watchdog.unref();

// ---------------------------------------------------------------------------------------------
// Bookkeeping: steps, screenshots, HTTP status of each page's document, CSP console errors.

class StepError extends Error {}
const fail = (msg) => {
  throw new StepError(msg);
};

let shot = 0;
let steps = 0;
const axeFailures = [];
const checkFailures = [];
const cspErrors = [];
const lastStatus = new WeakMap();
const notes = [];

function track(ctx, label) {
  ctx.setDefaultTimeout(TIMEOUT);
  ctx.setDefaultNavigationTimeout(TIMEOUT);
  ctx.on('console', (msg) => {
    const page = msg.page();
    const url = page ? page.url() : msg.location().url;
    if (!url.startsWith(base)) return;
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) {
      cspErrors.push(`[${label}] ${url}: ${msg.text()}`);
    } else if (msg.type() === 'error' && !/^Failed to load resource/.test(msg.text())) {
      notes.push(`console error [${label}] ${url}: ${msg.text()}`);
    }
  });
  ctx.on('weberror', (e) => notes.push(`page error [${label}]: ${e.error().message}`));
  ctx.on('page', watchStatus);
  ctx.on('response', (r) => {
    const req = r.request();
    if (r.status() >= 400 && !req.isNavigationRequest() && r.url().startsWith(base)) {
      notes.push(`HTTP ${r.status()} for ${req.resourceType()} ${r.url()} [${label}]`);
    }
  });
}

function watchStatus(page) {
  page.on('response', (r) => {
    if (r.request().isNavigationRequest() && r.frame() === page.mainFrame()) lastStatus.set(page, r.status());
  });
}

const safe = (s) => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-|-$/g, '').slice(0, 80);

async function screenshot(page, name) {
  shot += 1;
  const file = join(out, `${String(shot).padStart(2, '0')}-${safe(name)}.png`);
  await page.screenshot({ path: file, fullPage: true, timeout: TIMEOUT });
}

async function visibleText(page) {
  try {
    return (await page.evaluate(() => document.body?.innerText ?? '', undefined, { timeout: 3000 })).slice(0, 2048);
  } catch (e) {
    return `(no text: ${e.message.split('\n')[0]})`;
  }
}

async function reportFailure(name, page, err) {
  console.log(`FAIL ${name}`);
  console.log(`  error:  ${err instanceof StepError ? err.message : err.stack || err}`);
  if (page && !page.isClosed()) {
    console.log(`  url:    ${page.url()}`);
    console.log(`  status: ${lastStatus.get(page) ?? '(unknown)'}`);
    const text = await visibleText(page);
    console.log(`  text:   ${text.replace(/\n/g, '\n          ')}`);
    try {
      await page.screenshot({ path: join(out, `FAIL-${safe(name)}.png`), fullPage: true, timeout: 5000 });
      console.log(`  shot:   ${join(out, `FAIL-${safe(name)}.png`)}`);
    } catch (e) {
      console.log(`  shot:   (failed: ${e.message.split('\n')[0]})`);
    }
  }
}

// CSP violations seen so far fail the step that was running when they were logged.
function cspCheck() {
  if (cspErrors.length) {
    const all = cspErrors.splice(0);
    fail(`Content Security Policy violation(s):\n    ${all.join('\n    ')}`);
  }
}

// A step that later steps depend on (a navigation, a form post): its failure ends the run.
async function step(name, page, fn) {
  try {
    await fn();
    cspCheck();
    steps += 1;
    console.log(`ok  ${name}`);
  } catch (err) {
    await reportFailure(name, page, err);
    await finish(1);
  }
}

// A check nothing later depends on: its failure is reported and the run goes on (exit 1 at the
// end), so that one run shows every broken item of the page contract.
async function check(name, page, fn) {
  try {
    await fn();
    cspCheck();
    steps += 1;
    console.log(`ok  ${name}`);
  } catch (err) {
    await reportFailure(name, page, err);
    checkFailures.push(name);
  }
}

let browser;
async function finish(code) {
  for (const n of notes) console.log(`note: ${n}`);
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (checkFailures.length) {
    console.log(`FAILED checks (${checkFailures.length}): ${checkFailures.join('; ')}`);
    code = 1;
  }
  if (axeFailures.length) {
    console.log(`FAIL axe: violations on ${axeFailures.length} page state(s): ${axeFailures.join('; ')}`);
    code = 1;
  }
  console.log(
    code === 0
      ? `workflow ${opts.name}: all ${steps} steps passed in ${secs} s; screenshots in ${out}`
      : `workflow ${opts.name}: FAILED (${steps} steps passed), ${secs} s; screenshots in ${out}`,
  );
  try {
    await browser?.close();
  } catch {
    // exiting anyway
  }
  process.exit(code);
}

// ---------------------------------------------------------------------------------------------
// Page helpers: roles, labels and text only.

const re = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
// A label that is exactly `text`, or starts with it followed by a non-word character (a hint).
const labelled = (scope, text) => scope.getByLabel(new RegExp(`^${re(text)}(?![\\w])`));
const button = (scope, name) => scope.getByRole('button', { name, exact: true });
const link = (scope, name) => scope.getByRole('link', { name, exact: true });
// A button whose accessible name starts with `text` (e.g. "Revoke the invitation of …").
const buttonFor = (scope, text) => scope.getByRole('button', { name: new RegExp(`^${re(text)}(?![\\w])`) });

function path(page) {
  const u = new URL(page.url());
  return u.pathname + u.search;
}

async function expectOrigin(page) {
  if (!page.url().startsWith(`${base}/`)) fail(`expected a page of ${base}, at ${page.url()}`);
}

async function expectPath(page, expected) {
  await expectOrigin(page);
  const p = path(page);
  const ok = expected instanceof RegExp ? expected.test(p) : p === expected;
  if (!ok) fail(`expected to be at ${expected}, at ${p} (HTTP ${lastStatus.get(page) ?? '?'})`);
}

async function expectStatus(page, code = 200) {
  const s = lastStatus.get(page);
  if (s !== code) fail(`expected HTTP ${code}, got ${s}`);
}

async function expectH1(page, text) {
  const h1 = page.getByRole('heading', { level: 1 });
  const n = await h1.count();
  if (n !== 1) fail(`expected one h1 "${text}", found ${n}: ${JSON.stringify(await h1.allInnerTexts())}`);
  const got = (await h1.innerText()).trim();
  if (got !== text) fail(`expected h1 "${text}", got "${got}"`);
}

async function expectVisible(locator, what) {
  try {
    await locator.first().waitFor({ state: 'visible', timeout: 5000 });
  } catch {
    fail(`expected ${what} (not found or not visible)`);
  }
  return locator;
}

async function expectUnique(locator, what) {
  await expectVisible(locator, what);
  const n = await locator.count();
  if (n !== 1) fail(`expected exactly one ${what}, found ${n}`);
  return locator;
}

async function expectLive(page, role, pattern) {
  const loc = page.getByRole(role).filter({ hasText: pattern });
  try {
    await loc.first().waitFor({ state: 'visible', timeout: 5000 });
  } catch {
    const status = await page.getByRole('status').allInnerTexts();
    const alert = await page.getByRole('alert').allInnerTexts();
    fail(
      `expected a role=${role} message matching ${pattern}; ` +
        `role=status: ${JSON.stringify(status)}, role=alert: ${JSON.stringify(alert)}`,
    );
  }
}

// Runs `action` (a click) and waits for the navigation it starts to load.
async function navigate(page, action) {
  const nav = page.waitForNavigation({ waitUntil: 'load', timeout: TIMEOUT });
  await action();
  await nav;
}

async function goto(page, url) {
  const r = await page.goto(url, { waitUntil: 'load' });
  if (r) lastStatus.set(page, r.status());
}

async function noHorizontalScroll(page, width) {
  const sw = await page.evaluate(() => document.documentElement.scrollWidth);
  if (sw > width) fail(`the page scrolls horizontally at ${width} px: scrollWidth is ${sw}`);
}

// The form holding the button named `submit`.
const formOf = (page, submit) => page.locator('form').filter({ has: button(page, submit) });

// ---------------------------------------------------------------------------------------------
// axe-core, in a bypassCSP context that shares the signed-in state (or none) and revisits the
// URL, optionally reproducing a form result with `prepare`.

async function audit(label, { from, url, viewport, dark, prepare }) {
  const stepName = `axe: ${label}`;
  let page;
  let ctx;
  try {
    const storageState = from ? await from.storageState() : undefined;
    ctx = await browser.newContext({ bypassCSP: true, storageState, viewport: viewport ?? undefined });
    ctx.setDefaultTimeout(TIMEOUT);
    ctx.setDefaultNavigationTimeout(TIMEOUT);
    page = await ctx.newPage();
    watchStatus(page);
    if (dark) await page.emulateMedia({ colorScheme: 'dark' });
    await goto(page, url);
    if (prepare) await prepare(page);
    await page.addScriptTag({ content: axeSource });
    const result = await page.evaluate(() => globalThis.axe.run());
    const v = result.violations;
    if (v.length === 0) {
      steps += 1;
      console.log(`ok  ${stepName} (${path(page)}, ${result.passes.length} rules pass)`);
    } else {
      console.log(`FAIL ${stepName}: ${v.length} violation(s) at ${path(page)}`);
      for (const x of v) {
        console.log(`  - ${x.id} [${x.impact}] ${x.help} (${x.nodes.length} node(s))`);
        const summary = x.nodes[0]?.failureSummary?.replace(/\s+/g, ' ').slice(0, 240);
        if (summary) console.log(`      ${summary}`);
        for (const n of x.nodes.slice(0, 4)) {
          console.log(`      ${n.target.join(' ')}  ${n.html.replace(/\s+/g, ' ').slice(0, 120)}`);
        }
        if (x.nodes.length > 4) console.log(`      … and ${x.nodes.length - 4} more`);
      }
      await page.screenshot({ path: join(out, `FAIL-${safe(stepName)}.png`), fullPage: true });
      axeFailures.push(`${label} (${v.map((x) => x.id).join(', ')})`);
    }
  } catch (err) {
    await reportFailure(stepName, page, err);
    axeFailures.push(`${label} (not audited: ${String(err.message).split('\n')[0]})`);
  } finally {
    await ctx?.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// The workflow. `step` = the run depends on it; `check` = a page-contract item, reported and
// passed over when broken.

browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
  timeout: 30_000,
});
console.log(`workflow ${opts.name}: Chromium ${browser.version()} against ${base} (IdP ${idp})`);

const admin = await browser.newContext();
track(admin, 'admin');
await admin.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
const page = await admin.newPage();

// 1. The login page.

await step('GET / unauthenticated redirects to /login?return_to=%2F', page, async () => {
  await goto(page, `${base}/`);
  await expectPath(page, '/login?return_to=%2F');
  await expectStatus(page, 200);
  await screenshot(page, 'login');
});

await check('login page: heading, fields, button, links', page, async () => {
  await expectH1(page, 'Sign in');
  const form = formOf(page, 'Sign in');
  await expectUnique(form, 'one form with the button "Sign in"');
  await expectUnique(labelled(form, 'Email'), 'a field labelled "Email"');
  await expectUnique(labelled(form, 'Password'), 'a field labelled "Password"');
  await expectUnique(link(page, 'Sign in with Test IdP'), 'a link "Sign in with Test IdP"');
  await expectUnique(link(page, 'Create Account'), 'a link "Create Account" (no account exists yet)');
});

await check('login page: the title and the header show the product name', page, async () => {
  const title = await page.title();
  if (!title.includes('Acme Portal')) fail(`expected the title to contain "Acme Portal", got "${title}"`);
  await expectVisible(page.locator('header').filter({ hasText: 'Acme Portal' }), 'a header showing "Acme Portal"');
});

await audit('login', { url: `${base}/login?return_to=%2F` });

await check('login page in dark mode', page, async () => {
  const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await page.emulateMedia({ colorScheme: 'dark' });
  const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  if (light === dark) notes.push(`login: the body background is ${light} in both light and dark mode`);
  await screenshot(page, 'login-dark');
  await page.emulateMedia({ colorScheme: 'light' });
});

await audit('login (dark mode)', { url: `${base}/login?return_to=%2F`, dark: true });

const phoneLogin = await browser.newContext({ viewport: { width: 360, height: 740 } });
track(phoneLogin, 'phone-login');
const phoneLoginPage = await phoneLogin.newPage();
await check('login page at 360 px does not scroll horizontally', phoneLoginPage, async () => {
  await goto(phoneLoginPage, `${base}/login`);
  await expectStatus(phoneLoginPage, 200);
  await screenshot(phoneLoginPage, 'login-360px');
  await noHorizontalScroll(phoneLoginPage, 360);
});
await phoneLogin.close();

// 2. Sign-up of the first admin.

await step('"Create Account" opens the signup page', page, async () => {
  await navigate(page, () => link(page, 'Create Account').click());
  await expectPath(page, /^\/signup(\?|$)/);
  await expectStatus(page, 200);
  await screenshot(page, 'signup');
});

await check('signup page: heading, fields, button', page, async () => {
  await expectH1(page, 'Create Account');
  const form = formOf(page, 'Create Account');
  await expectUnique(form, 'one form with the button "Create Account"');
  for (const l of ['Your name', 'Organization', 'Email', 'Password']) {
    await expectUnique(labelled(form, l), `a field labelled "${l}"`);
  }
});

await audit('signup', { url: page.url() });

await step('sign up Ada Admin / Acme: lands on the home page', page, async () => {
  const form = formOf(page, 'Create Account');
  await labelled(form, 'Your name').fill(ADMIN.name);
  await labelled(form, 'Organization').fill(ADMIN.org);
  await labelled(form, 'Email').fill(ADMIN.email);
  await labelled(form, 'Password').fill(ADMIN.password);
  await navigate(page, () => button(form, 'Create Account').click());
  await expectPath(page, '/');
  await expectStatus(page, 200);
  await screenshot(page, 'home');
});

async function expectHome(p, name, email) {
  await expectH1(p, `Hello, ${name}`);
  if (email) await expectVisible(p.getByText(email), `the text "${email}"`);
  for (const [text, href] of [
    ['Personal settings', '/settings/personal'],
    ['Organization settings', '/settings/organization'],
  ]) {
    const l = await expectUnique(link(p, text), `a link "${text}"`);
    const to = new URL(await l.getAttribute('href'), p.url()).pathname;
    if (to !== href) fail(`expected the link "${text}" to lead to ${href}, it leads to ${to}`);
  }
  await expectUnique(button(p, 'Sign out'), 'a button "Sign out"');
}

await check('home page: "Hello, Ada Admin", email, settings links, "Sign out"', page, async () => {
  await expectHome(page, ADMIN.name, ADMIN.email);
});

await audit('home', { from: admin, url: `${base}/` });

// 3.–5. Sign out, a wrong password, the right one.

await step('"Sign out" on the home page lands on the login page', page, async () => {
  await navigate(page, () => button(page, 'Sign out').click());
  await expectPath(page, /^\/login(\?|$)/);
  await screenshot(page, 'signed-out');
});

await check('login page after sign-out: a "signed out" notice', page, async () => {
  await expectLive(page, 'status', /signed out/i);
});

async function signIn(p, email, password) {
  const form = formOf(p, 'Sign in');
  await labelled(form, 'Email').fill(email);
  await labelled(form, 'Password').fill(password);
  await navigate(p, () => button(form, 'Sign in').click());
}

await step('sign in with a wrong password: stays on the login page', page, async () => {
  await signIn(page, ADMIN.email, 'not the right password at all');
  await expectPath(page, /^\/login(\?|$)/);
  await screenshot(page, 'login-error');
});

await check('wrong password: an error, the email kept, the password emptied', page, async () => {
  await expectLive(page, 'alert', /invalid email or password/i);
  const form = formOf(page, 'Sign in');
  const email = await labelled(form, 'Email').inputValue();
  if (email !== ADMIN.email) fail(`expected the Email field to hold ${ADMIN.email}, it holds "${email}"`);
  const pw = await labelled(form, 'Password').inputValue();
  if (pw !== '') fail('expected the Password field to be empty after a failed sign-in');
});

await audit('login with error', {
  url: `${base}/login?return_to=%2F`,
  prepare: async (p) => {
    await signIn(p, ADMIN.email, 'not the right password at all');
    await expectLive(p, 'alert', /invalid email or password/i);
  },
});

await step('sign in with the right password: home page', page, async () => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await expectPath(page, '/');
  await expectStatus(page, 200);
});

// 6. Personal settings.

await step('personal settings page opens', page, async () => {
  await goto(page, `${base}/settings/personal`);
  await expectPath(page, /^\/settings\/personal(\?|$)/);
  await expectStatus(page, 200);
  await screenshot(page, 'personal');
});

await check('personal settings: heading, name and password forms', page, async () => {
  await expectH1(page, 'Personal settings');
  await expectUnique(labelled(formOf(page, 'Save name'), 'Name'), 'a field "Name" in a form with "Save name"');
  const pw = formOf(page, 'Change password');
  await expectUnique(labelled(pw, 'Current password'), 'a field "Current password" in a form with "Change password"');
  await expectUnique(labelled(pw, 'New password'), 'a field "New password" in a form with "Change password"');
});

await step('personal settings: "Save name" Ada Lovelace', page, async () => {
  const form = formOf(page, 'Save name');
  await labelled(form, 'Name').fill(NEW_NAME);
  await navigate(page, () => button(form, 'Save name').click());
  await expectPath(page, /^\/settings\/personal(\?|$)/);
  await screenshot(page, 'personal-name-saved');
});

await check('name saved: a notice, the field shows the new name', page, async () => {
  await expectLive(page, 'status', /name was saved/i);
  const shown = await labelled(formOf(page, 'Save name'), 'Name').inputValue();
  if (shown !== NEW_NAME) fail(`expected the Name field to show "${NEW_NAME}", it shows "${shown}"`);
});

await audit('personal settings with notice', {
  from: admin,
  url: `${base}/settings/personal`,
  prepare: async (p) => {
    const form = formOf(p, 'Save name');
    await labelled(form, 'Name').fill(NEW_NAME);
    await navigate(p, () => button(form, 'Save name').click());
    await expectLive(p, 'status', /name was saved/i);
  },
});

await step('personal settings: "Change password"', page, async () => {
  const form = formOf(page, 'Change password');
  await labelled(form, 'Current password').fill(ADMIN.password);
  await labelled(form, 'New password').fill(NEW_PASSWORD);
  await navigate(page, () => button(form, 'Change password').click());
  await expectPath(page, /^\/settings\/personal(\?|$)/);
  await screenshot(page, 'personal-password-changed');
});

await check('password changed: a notice', page, async () => {
  await expectLive(page, 'status', /password was changed/i);
});

await step('sign out, then sign in with the new password', page, async () => {
  await goto(page, `${base}/`);
  await navigate(page, () => button(page, 'Sign out').click());
  await expectPath(page, /^\/login(\?|$)/);
  await signIn(page, ADMIN.email, NEW_PASSWORD);
  await expectPath(page, '/');
  await expectStatus(page, 200);
});

await check('home page: "Hello, Ada Lovelace"', page, async () => {
  await expectHome(page, NEW_NAME, ADMIN.email);
});

// 7. Organization settings: invite Bob.

await step('organization settings page opens', page, async () => {
  await goto(page, `${base}/settings/organization`);
  await expectPath(page, /^\/settings\/organization(\?|$)/);
  await expectStatus(page, 200);
  await screenshot(page, 'organization');
});

await check('organization settings: heading, members table, invite form', page, async () => {
  await expectH1(page, ADMIN.org);
  await expectVisible(page.getByRole('row').filter({ hasText: ADMIN.email }), `a row naming ${ADMIN.email}`);
  const form = formOf(page, 'Send invitation');
  await expectUnique(form, 'one form with the button "Send invitation"');
  await expectUnique(labelled(form, 'Email'), 'a field labelled "Email" in the invite form');
  const role = await expectUnique(labelled(form, 'Role'), 'a field labelled "Role" in the invite form');
  const options = await role.locator('option').evaluateAll((os) => os.map((o) => o.value));
  for (const o of ['member', 'admin']) {
    if (!options.includes(o)) fail(`expected the Role select to offer "${o}", it offers ${JSON.stringify(options)}`);
  }
});

let inviteLink;
await step('invite bob@example.com as member: an invitation link', page, async () => {
  const form = formOf(page, 'Send invitation');
  await labelled(form, 'Email').fill(BOB.email);
  await labelled(form, 'Role').selectOption('member');
  await navigate(page, () => button(form, 'Send invitation').click());
  await expectPath(page, /^\/settings\/organization(\?|$)/);
  await screenshot(page, 'organization-invited');
  const field = await expectUnique(page.getByLabel('Invitation link'), 'a field labelled "Invitation link"');
  inviteLink = await field.inputValue();
  const shape = new RegExp(`^${re(base)}/invitations/[^/?#\\s]+$`);
  if (!shape.test(inviteLink)) fail(`expected the invitation link to be ${base}/invitations/<token>, got "${inviteLink}"`);
});

await check('invitation created: notice, read-only link, "Copy link", pending list with "Revoke"', page, async () => {
  await expectLive(page, 'status', /invitation created/i);
  if (await page.getByLabel('Invitation link').isEditable()) fail('expected the "Invitation link" field to be read-only');
  const copy = await expectUnique(button(page, 'Copy link'), 'a button "Copy link"');
  await copy.click();
  await page.waitForTimeout(300);
  await expectVisible(page.getByRole('heading', { name: 'Pending invitations' }), 'a heading "Pending invitations"');
  const pending = page
    .getByRole('row')
    .or(page.getByRole('listitem'))
    .filter({ hasText: BOB.email })
    .filter({ has: buttonFor(page, 'Revoke') });
  await expectVisible(pending, `a pending invitation for ${BOB.email} with a "Revoke" button`);
});

await audit('organization settings with notice', {
  from: admin,
  url: `${base}/settings/organization`,
  prepare: async (p) => {
    const form = formOf(p, 'Send invitation');
    await labelled(form, 'Email').fill('carol@example.com');
    await labelled(form, 'Role').selectOption('member');
    await navigate(p, () => button(form, 'Send invitation').click());
    await expectLive(p, 'status', /invitation created/i);
  },
});

// 8. Bob accepts at phone width.

const phone = await browser.newContext({ viewport: { width: 360, height: 740 } });
track(phone, 'phone');
const bobPage = await phone.newPage();

await step('the invitation link opens at 360 px', bobPage, async () => {
  await goto(bobPage, inviteLink);
  await expectStatus(bobPage, 200);
  await screenshot(bobPage, 'invitation-360px');
});

await check('invitation page: "Join Acme", no horizontal scroll, fields, button', bobPage, async () => {
  await expectH1(bobPage, `Join ${ADMIN.org}`);
  await noHorizontalScroll(bobPage, 360);
  const form = formOf(bobPage, 'Create account and join');
  await expectUnique(form, 'one form with the button "Create account and join"');
  await expectUnique(labelled(form, 'Your name'), 'a field labelled "Your name"');
  await expectUnique(labelled(form, 'Choose a password'), 'a field labelled "Choose a password"');
});

await audit('invitation page (360 px)', { url: inviteLink, viewport: { width: 360, height: 740 } });

await step('"Create account and join": lands on the home page', bobPage, async () => {
  const form = formOf(bobPage, 'Create account and join');
  await labelled(form, 'Your name').fill(BOB.name);
  await labelled(form, 'Choose a password').fill(BOB.password);
  await navigate(bobPage, () => button(form, 'Create account and join').click());
  await expectPath(bobPage, '/');
  await expectStatus(bobPage, 200);
  await screenshot(bobPage, 'home-bob-360px');
});

await check('home page: "Hello, Bob Builder"', bobPage, async () => {
  await expectH1(bobPage, `Hello, ${BOB.name}`);
});
await phone.close();

// 9. The admin makes Bob an admin.

let bobRow;
await step('organization settings: "Update role" of bob@example.com to admin', page, async () => {
  await goto(page, `${base}/settings/organization`);
  await expectStatus(page, 200);
  await screenshot(page, 'organization-members');
  bobRow = page.getByRole('row').filter({ hasText: BOB.email }).filter({ has: button(page, 'Update role') });
  await expectUnique(bobRow, `one row naming ${BOB.email} with a button "Update role"`);
  await expectUnique(bobRow.getByRole('combobox'), `a role select in the row of ${BOB.email}`);
  await bobRow.getByRole('combobox').selectOption('admin');
  await navigate(page, () => button(bobRow, 'Update role').click());
  await expectPath(page, /^\/settings\/organization(\?|$)/);
  await screenshot(page, 'organization-role-updated');
});

await check('role updated: a notice, the row shows admin', page, async () => {
  await expectLive(page, 'status', /role updated/i);
  const row = page.getByRole('row').filter({ hasText: BOB.email });
  await expectUnique(row, `one row naming ${BOB.email}`);
  const select = row.getByRole('combobox');
  const text = await row.innerText();
  const shows = (await select.count()) > 0 ? await select.inputValue() : (text.match(/\badmin\b/) ?? [''])[0];
  if (shows !== 'admin') fail(`expected the row of ${BOB.email} to show admin, it shows "${text.trim()}"`);
});

// 9b. Forgot password without mail: the page says whom to ask; the admin makes a
// password-reset link for Bob, who sets a new password through it at phone width.

await check('forgot-password page: says to ask an administrator (no mail here)', page, async () => {
  await goto(page, `${base}/login`);
  await navigate(page, () => link(page, 'Forgot password?').click());
  await expectPath(page, /^\/forgot-password(\?|$)/);
  await expectStatus(page, 200);
  await screenshot(page, 'forgot-password');
  await expectH1(page, 'Forgot password');
  await expectVisible(page.getByText(/ask an administrator/i), 'the text "ask an administrator"');
});

await audit('forgot-password page', { url: `${base}/forgot-password` });

let resetLink;
await step('organization settings: "Reset link" for bob@example.com', page, async () => {
  await goto(page, `${base}/settings/organization`);
  const row = page.getByRole('row').filter({ hasText: BOB.email });
  await navigate(page, () => buttonFor(row, 'Reset link').click());
  await expectPath(page, /^\/settings\/organization(\?|$)/);
  await screenshot(page, 'organization-reset-link');
  const field = await expectUnique(page.getByLabel('Password-reset link'), 'a field labelled "Password-reset link"');
  resetLink = await field.inputValue();
  const shape = new RegExp(`^${re(base)}/reset-password\\?token=[A-Za-z0-9_-]+$`);
  if (!shape.test(resetLink)) fail(`expected ${base}/reset-password?token=<token>, got "${resetLink}"`);
});

const phone2 = await browser.newContext({ viewport: { width: 360, height: 740 } });
track(phone2, 'phone-reset');
const resetPage = await phone2.newPage();
await step('the reset link: "Set new password", then sign in with it', resetPage, async () => {
  await goto(resetPage, resetLink);
  await expectStatus(resetPage, 200);
  await expectH1(resetPage, 'Choose a new password');
  await noHorizontalScroll(resetPage, 360);
  await screenshot(resetPage, 'reset-password-360px');
  await labelled(resetPage, 'New password').fill('bob rebuilt everything 2027');
  await navigate(resetPage, () => button(resetPage, 'Set new password').click());
  await expectPath(resetPage, /^\/login\?notice=password-reset$/);
  await expectLive(resetPage, 'status', /password was reset/i);
  await signIn(resetPage, BOB.email, 'bob rebuilt everything 2027');
  await expectPath(resetPage, '/');
  await expectH1(resetPage, `Hello, ${BOB.name}`);
});

await audit('verify-email page', { from: admin, url: `${base}/verify-email?token=not-sent-here` });
await audit('reset-password page (360 px)', { url: `${base}/reset-password?token=used-or-not`, viewport: { width: 360, height: 740 } });
await phone2.close();

// The sign-out page.

await check('GET /logout: "Sign out" heading and button', page, async () => {
  await goto(page, `${base}/logout`);
  await expectPath(page, /^\/logout(\?|$)/);
  await expectStatus(page, 200);
  await screenshot(page, 'logout');
  await expectH1(page, 'Sign out');
  await expectUnique(button(page.getByRole('main'), 'Sign out'), 'a button "Sign out" in the main landmark');
});

await audit('logout page', { from: admin, url: `${base}/logout` });

// 10. SSO through the test IdP.

const sso = await browser.newContext();
track(sso, 'sso');
const ssoPage = await sso.newPage();
await step('SSO: "Sign in with Test IdP" signs in through the IdP', ssoPage, async () => {
  const r = await fetch(`${idp}/__test/login-as`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(SSO),
    signal: AbortSignal.timeout(TIMEOUT),
  });
  if (!r.ok) fail(`the IdP refused /__test/login-as: HTTP ${r.status}`);
  await goto(ssoPage, `${base}/login`);
  await link(ssoPage, 'Sign in with Test IdP').click();
  try {
    await ssoPage.waitForURL((u) => u.href === `${base}/`, { timeout: 15_000, waitUntil: 'load' });
  } catch {
    fail(`expected to land on ${base}/ after the IdP, at ${ssoPage.url()}`);
  }
  await expectStatus(ssoPage, 200);
  await screenshot(ssoPage, 'home-sso');
});

await check('home page: "Hello, Sso User"', ssoPage, async () => {
  await expectH1(ssoPage, `Hello, ${SSO.name}`);
});

// 11. The admin console (/settings/admin): a new member, Dave, is found, disabled (his live
// session is refused), enabled, given a reset link, signed out everywhere and deleted.

const DAVE = { name: 'Dave Member', email: 'dave@example.com', password: 'dave keeps the lights on 42' };
let daveInvite;
await step('console setup: invite dave@example.com as member', page, async () => {
  await goto(page, `${base}/settings/organization`);
  const form = formOf(page, 'Send invitation');
  await labelled(form, 'Email').fill(DAVE.email);
  await labelled(form, 'Role').selectOption('member');
  await navigate(page, () => button(form, 'Send invitation').click());
  daveInvite = await page.getByLabel('Invitation link').inputValue();
});

const daveCtx = await browser.newContext();
track(daveCtx, 'dave');
const davePage = await daveCtx.newPage();
await step('console setup: Dave accepts and is signed in', davePage, async () => {
  await goto(davePage, daveInvite);
  const form = formOf(davePage, 'Create account and join');
  await labelled(form, 'Your name').fill(DAVE.name);
  await labelled(form, 'Choose a password').fill(DAVE.password);
  await navigate(davePage, () => button(form, 'Create account and join').click());
  await expectPath(davePage, '/');
  await expectH1(davePage, `Hello, ${DAVE.name}`);
});

await check('console: Dave (no instance admin) gets 403 and no "Admin" link', davePage, async () => {
  await goto(davePage, `${base}/settings/admin`);
  await expectStatus(davePage, 403);
  await expectLive(davePage, 'alert', /instance admin/i);
  await screenshot(davePage, 'console-403-member');
  if ((await link(davePage, 'Admin').count()) !== 0) fail('expected no "Admin" link for a member');
  await goto(davePage, `${base}/settings/personal`);
  if ((await link(davePage, 'Admin').count()) !== 0) fail('expected no "Admin" link in the settings of a member');
});

await audit('admin console 403 (member)', { from: daveCtx, url: `${base}/settings/admin` });

await step('console: the "Admin" link in the settings navigation opens /settings/admin', page, async () => {
  await goto(page, `${base}/settings/personal`);
  await navigate(page, () => link(page.getByRole('navigation', { name: 'Account' }), 'Admin').click());
  await expectPath(page, '/settings/admin');
  await expectStatus(page, 200);
  await expectH1(page, 'Admin');
  await screenshot(page, 'console-desktop');
});

await check('console: users, organizations (Acme, instance) and audit events tables', page, async () => {
  for (const e of [ADMIN.email, BOB.email, DAVE.email]) {
    await expectVisible(page.getByRole('table', { name: 'Users' }).getByRole('row').filter({ hasText: e }), `a user row for ${e}`);
  }
  const acme = page.getByRole('table', { name: 'Organizations' }).getByRole('row').filter({ hasText: ADMIN.org });
  await expectVisible(acme.filter({ hasText: 'instance' }), 'the row of Acme with the "instance" badge');
  await expectVisible(page.getByRole('table', { name: 'Recent audit events' }).getByRole('row'), 'audit event rows');
});

await audit('admin console', { from: admin, url: `${base}/settings/admin` });

const daveRow = () => page.getByRole('table', { name: 'Users' }).getByRole('row').filter({ hasText: DAVE.email });

await step('console: search "dave" finds Dave only', page, async () => {
  const form = page.getByRole('search');
  await labelled(form, 'Search users').fill('dave');
  await navigate(page, () => button(form, 'Search').click());
  await expectPath(page, '/settings/admin?q=dave');
  const rows = page.getByRole('table', { name: 'Users' }).getByRole('row');
  if ((await rows.count()) !== 2) fail(`expected a header and one user row, found ${await rows.count()} rows`);
  await expectUnique(daveRow(), `a row for ${DAVE.email}`);
});

await step('console: "Disable" Dave: a notice, the row shows disabled', page, async () => {
  await navigate(page, () => buttonFor(daveRow(), 'Disable').click());
  await expectPath(page, /^\/settings\/admin\?q=dave&notice=user-disabled$/);
  await expectLive(page, 'status', /was disabled/i);
  await expectVisible(daveRow().filter({ hasText: 'disabled' }), 'Dave\'s row showing "disabled"');
  await screenshot(page, 'console-disabled');
});

await check('console: Dave\'s live session is refused: a page load redirects to the login page', davePage, async () => {
  await goto(davePage, `${base}/`);
  await expectPath(davePage, /^\/login\?return_to=/);
});

await check('console: a disabled Dave cannot sign in', davePage, async () => {
  await signIn(davePage, DAVE.email, DAVE.password);
  await expectPath(davePage, /^\/login(\?|$)/);
});

await step('console: "Enable" Dave; he signs in again', page, async () => {
  await navigate(page, () => buttonFor(daveRow(), 'Enable').click());
  await expectLive(page, 'status', /was enabled/i);
  await expectVisible(daveRow().filter({ hasText: 'active' }), 'Dave\'s row showing "active"');
  await goto(davePage, `${base}/login`);
  await signIn(davePage, DAVE.email, DAVE.password);
  await expectPath(davePage, '/');
});

await step('console: "Reset link" for Dave shows a one-time link, not in the URL', page, async () => {
  await goto(page, `${base}/settings/admin?q=dave`);
  await navigate(page, () => buttonFor(daveRow(), 'Reset link').click());
  const field = await expectUnique(page.getByLabel('Password-reset link'), 'a field labelled "Password-reset link"');
  const url = await field.inputValue();
  if (!new RegExp(`^${re(base)}/reset-password\\?token=[A-Za-z0-9_-]+$`).test(url)) fail(`a reset link, got "${url}"`);
  if (page.url().includes('token')) fail(`the page URL carries the token: ${page.url()}`);
  await expectStatus(page, 200);
  await screenshot(page, 'console-reset-link');
});

await step('console: "End sessions" of Dave: his page load then goes to the login page', page, async () => {
  await goto(page, `${base}/settings/admin?q=dave`);
  await navigate(page, () => buttonFor(daveRow(), 'End sessions').click());
  await expectLive(page, 'status', /sessions ended/i);
  await goto(davePage, `${base}/`);
  await expectPath(davePage, /^\/login\?return_to=/);
});

await check('console: the audit events show what was done', page, async () => {
  await goto(page, `${base}/settings/admin`);
  const events = page.getByRole('table', { name: 'Recent audit events' });
  for (const e of ['user_disabled', 'user_enabled', 'password_reset_link', 'sessions_revoked']) {
    await expectVisible(events.getByRole('row').filter({ hasText: e }).filter({ hasText: DAVE.email }), `an event ${e} about ${DAVE.email}`);
  }
});

const narrow = await browser.newContext({ viewport: { width: 360, height: 740 }, storageState: await admin.storageState() });
track(narrow, 'console-360');
const narrowPage = await narrow.newPage();
await check('console at 360 px: no horizontal scroll', narrowPage, async () => {
  await goto(narrowPage, `${base}/settings/admin`);
  await expectStatus(narrowPage, 200);
  await noHorizontalScroll(narrowPage, 360);
  await screenshot(narrowPage, 'console-360px');
});
await narrow.close();

await audit('admin console (360 px)', { from: admin, url: `${base}/settings/admin`, viewport: { width: 360, height: 740 } });
await audit('admin console with reset link', {
  from: admin,
  url: `${base}/settings/admin?q=dave`,
  prepare: async (p) => {
    const row = p.getByRole('table', { name: 'Users' }).getByRole('row').filter({ hasText: DAVE.email });
    await navigate(p, () => buttonFor(row, 'Reset link').click());
    await expectLive(p, 'status', /reset link created/i);
  },
});

await step('console: "Delete…" Dave asks first, then deletes him', page, async () => {
  await goto(page, `${base}/settings/admin?q=dave`);
  await navigate(page, () => buttonFor(daveRow(), 'Delete').click());
  await expectH1(page, 'Delete user');
  await screenshot(page, 'console-delete-confirm');
  await navigate(page, () => button(page.getByRole('main'), `Delete ${DAVE.email}`).click());
  await expectLive(page, 'status', /was deleted/i);
  const rows = page.getByRole('table', { name: 'Users' });
  if ((await rows.count()) !== 0 && (await daveRow().count()) !== 0) fail('Dave is still listed');
  await expectVisible(page.getByText(/No user matches/), 'the text "No user matches"');
});

await audit('admin console delete confirmation', {
  from: admin,
  url: `${base}/settings/admin?q=bob`,
  prepare: async (p) => {
    const row = p.getByRole('table', { name: 'Users' }).getByRole('row').filter({ hasText: BOB.email });
    await navigate(p, () => buttonFor(row, 'Delete').click());
    await expectH1(p, 'Delete user');
  },
});
await daveCtx.close();

await finish(0);
