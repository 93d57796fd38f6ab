// The dashboard end to end in a real browser (Debian's chromium, headless), walking
// the leaked-statement scenario an operations person lives through:
// sign in with the keyboard → create an application → download its statement (named
// after the app) → installs register on several platforms, one off-platform → the
// operations page's KPIs and charts match the store → the client page → retire the
// old build's statement (impact first, flash after) → rotate the leaked one (the new
// one registers) → bulk-revoke the leaked statement's off-platform installs after a
// preview → the audit log names it all, hides device registrations, exports CSV →
// the pages fit a 360 px screen → sign out. A screenshot of every page lands in
// SCREENSHOT_DIR.
//
// Env: DCR_URL, DCR_EMAIL, DCR_PASSWORD, DCR_ADMIN_KEY, SCREENSHOT_DIR.
import { chromium } from 'playwright-core';
import { readFile, mkdir } from 'node:fs/promises';
import assert from 'node:assert/strict';
import path from 'node:path';

const base = process.env.DCR_URL;
const shots = process.env.SCREENSHOT_DIR;
const adminKey = process.env.DCR_ADMIN_KEY;
await mkdir(shots, { recursive: true });

const admin = async (p) => {
  const r = await fetch(`${base}/admin/v1${p}`, { headers: { Authorization: `Bearer ${adminKey}` } });
  assert.equal(r.status, 200, `GET ${p}`);
  return r.json();
};
const device = (info) => Buffer.from(JSON.stringify(info)).toString('base64');
const IPHONE = { osName: 'iOS', model: 'iPhone15,2', primaryHardwareType: 'MobilePhone' };
const ROKU = { osName: 'Roku OS', model: 'Roku Ultra', primaryHardwareType: 'SetTopBox' };
const FIRE_TV = { osName: 'Android', manufacturer: 'Amazon', model: 'AFTMM' };
const register = (statement, info) => fetch(`${base}/o/client/register`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json', 'X-Device-Info': device(info) },
  body: JSON.stringify({ software_statement: statement }),
});
const token = (c) => fetch(`${base}/o/client/token`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret }),
});
const jtiOf = (statement) => JSON.parse(Buffer.from(statement.split('.')[1], 'base64url').toString()).jti;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const failures = [];
try {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => failures.push(`page error: ${e}`));
  const shot = (name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  const download = async (click) => {
    const [file] = await Promise.all([page.waitForEvent('download'), click()]);
    const where = path.join(shots, file.suggestedFilename());
    await file.saveAs(where);
    return { name: file.suggestedFilename(), text: (await readFile(where, 'utf8')).trim() };
  };

  // Sign in, keyboard only: the labels name the fields, Enter submits.
  await page.goto(`${base}/dashboard/applications`);
  assert.match(page.url(), /\/dashboard\/login$/, 'signed-out visitors land on the sign-in page');
  await shot('01-sign-in');
  await page.getByLabel('Email').focus();
  await page.keyboard.type(process.env.DCR_EMAIL);
  await page.keyboard.press('Tab');
  await page.keyboard.type(process.env.DCR_PASSWORD);
  await Promise.all([page.waitForURL(/\/dashboard\/applications$/), page.keyboard.press('Enter')]);
  const session = (await context.cookies()).find((c) => c.name === '__Host-dcr_session');
  assert.ok(session, 'a session cookie is set');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  await shot('02-overview-empty');

  // Create an application: next steps follow.
  await page.getByRole('link', { name: 'New application' }).click();
  await page.getByLabel('Name').fill('Browser Test App');
  await page.getByLabel('Version').fill('2.1');
  await page.getByLabel('ios').check();
  await page.getByLabel('roku').check();
  await page.getByLabel('api:client:v2').check();
  await page.getByLabel(/Domains/).fill('https://www.acme.example');
  await shot('03-new-application');
  await Promise.all([page.waitForURL(/\/dashboard\/applications\/[0-9a-f-]{36}\?done=application-created&n=0&sig=[A-Za-z0-9_-]+$/),
    page.getByRole('button', { name: 'Create application' }).click()]);
  await page.getByRole('heading', { name: /Browser Test App/ }).waitFor();
  assert.match(await page.locator('#flash').innerText(), /^Application created/);
  assert.match(await page.locator('#next-steps').innerText(), /X-Device-Info/);
  const appUrl = page.url().split('?')[0];
  const appId = appUrl.split('/').pop();

  // Two statements, named after the app and its version: an old build's and the
  // current one (which will leak).
  const old = await download(() => page.getByRole('button', { name: 'Download a new software statement' }).click());
  assert.match(old.name, /^browser-test-app-2\.1-[0-9a-f]{8}\.jwt$/);
  const leaked = await download(() => page.getByRole('button', { name: 'Download a new software statement' }).click());
  assert.equal(leaked.text.split('.').length, 3, 'the file holds a compact JWS');

  // Installs: three iPhones and two Rokus on the current build, one iPhone on the old
  // one, and a Fire TV with the leaked statement (not a platform of the app).
  const clients = [];
  for (const [statement, info] of [[leaked, IPHONE], [leaked, IPHONE], [leaked, IPHONE], [leaked, ROKU], [leaked, ROKU], [old, IPHONE], [leaked, FIRE_TV]]) {
    const r = await register(statement.text, info);
    assert.equal(r.status, 201);
    clients.push(await r.json());
  }
  for (const c of clients.slice(0, 4)) assert.equal((await token(c)).status, 201);
  const fireTv = clients[6];
  assert.equal((await token(fireTv)).status, 201);

  // The operations page: every number and every bar against the store.
  await page.goto(appUrl);
  const usage = await admin(`/applications/${appId}/usage`);
  const activity = await admin(`/applications/${appId}/activity?days=30`);
  assert.equal(await page.locator('#kpi-active').innerText(), String(usage.active_clients));
  assert.equal(await page.locator('#kpi-active').innerText(), '7');
  assert.equal(await page.locator('#token-count').innerText(), String(usage.tokens_issued));
  assert.equal(await page.locator('#last-token').innerText(), 'today');
  const bars = (chart) => page.locator(`#${chart} rect.bar`).evaluateAll(
    (rects) => rects.map((r) => [r.dataset.label, Number(r.dataset.value)]));
  const registrations = await bars('chart-registrations');
  const tokens = await bars('chart-tokens');
  assert.deepEqual(registrations, activity.daily.map((d) => [d.date, d.registrations]));
  assert.deepEqual(tokens, activity.daily.map((d) => [d.date, d.tokens]));
  assert.equal(registrations.at(-1)[1], 7);
  assert.equal(tokens.at(-1)[1], 5);
  const asPairs = (items) => items.map((i) => [i.value, i.clients]);
  assert.deepEqual(await bars('chart-platform'), asPairs(activity.by_platform));
  assert.deepEqual(await bars('chart-os'), asPairs(activity.by_os));
  assert.deepEqual(await bars('chart-model'), asPairs(activity.by_model));
  const fireRow = page.getByRole('row', { name: new RegExp(fireTv.client_id) });
  assert.match(await fireRow.innerText(), /off-platform/);
  await shot('04-application');

  // The client page, found by its id from the header.
  await page.getByLabel('Find a client by client_id').fill(fireTv.client_id);
  await Promise.all([page.waitForURL(new RegExp(`/dashboard/clients/${fireTv.client_id}$`)),
    page.getByRole('button', { name: 'Find client' }).click()]);
  assert.equal(await page.locator('#client-status').innerText(), 'active');
  assert.equal(await page.locator('#client-tokens').innerText(), '1');
  assert.match(await page.locator('#off-platform').innerText(), /off-platform/);
  await shot('05-client');

  // Retire the old build's statement: impact before, flash after.
  const oldJti = jtiOf(old.text);
  const leakedJti = jtiOf(leaked.text);
  await page.goto(appUrl);
  await page.getByRole('link', { name: `Retire statement ${oldJti}` }).click();
  assert.equal(await page.locator('#impact').innerText(), 'Keeps working: 1 client: ios 1.');
  await shot('06-confirm-retire');
  await Promise.all([page.waitForURL(/done=statement-retired/), page.getByRole('button', { name: 'Retire the statement' }).click()]);
  assert.equal(await page.locator('#flash').innerText(),
    'Statement retired: it registers no new clients; its 1 client keep working.');
  assert.equal(await page.locator(`tr[data-jti="${oldJti}"] .status`).innerText(), 'retired');
  assert.equal((await register(old.text, IPHONE)).status, 400, 'a retired statement registers no one');

  // Rotate the leaked one: a new statement for the next build, which registers.
  await page.getByRole('link', { name: `Rotate statement ${leakedJti}` }).click();
  assert.equal(await page.locator('#impact').innerText(), 'Keeps working: 6 clients: ios 3, roku 2, fire-tv 1.');
  await page.getByRole('button', { name: 'Rotate the statement' }).click();
  await page.getByRole('heading', { name: /New software statement/ }).waitFor();
  const rotated = await download(() => page.locator('#download-rotated').click());
  assert.match(rotated.name, /^browser-test-app-2\.1-[0-9a-f]{8}\.jwt$/);
  assert.equal((await register(rotated.text, IPHONE)).status, 201, 'the rotated statement registers');
  await shot('07-rotated');

  // Bulk-revoke what the leak made off-platform, after a preview that changes nothing.
  await page.goto(`${appUrl}/clients/revoke`);
  await page.getByLabel('Registered with statement').selectOption(leakedJti);
  await page.getByLabel('Platform').selectOption('fire-tv');
  await page.getByRole('button', { name: 'Preview' }).click();
  assert.equal(await page.locator('#impact').innerText(), 'Would revoke 1 client: fire-tv 1.');
  assert.equal((await token(fireTv)).status, 201, 'a preview revokes nothing');
  await shot('08-bulk-preview');
  await Promise.all([page.waitForURL(/done=clients-revoked/), page.getByRole('button', { name: 'Revoke 1 clients' }).click()]);
  assert.equal(await page.locator('#flash').innerText(), '1 client revoked.');
  assert.equal((await token(fireTv)).status, 400, 'the revoked install is cut off');
  const after = await admin(`/applications/${appId}/usage`);
  assert.equal(await page.locator('#kpi-active').innerText(), String(after.active_clients));
  assert.equal(await page.locator('#kpi-cut-off').innerText(), String(after.clients - after.active_clients));

  // The audit log: names and links, human actions first, devices on request, CSV.
  await page.getByRole('link', { name: 'Audit log' }).click();
  const log = await page.locator('#audit tbody').innerText();
  assert.match(log, /statement\.retired/);
  assert.match(log, /statement\.rotated/);
  assert.match(log, /clients\.bulk-revoked/);
  assert.match(log, new RegExp(process.env.DCR_EMAIL.replace('.', '\\.')));
  assert.doesNotMatch(log, /client\.registered/, 'device registrations are behind the toggle');
  assert.ok(await page.locator('#audit tbody a', { hasText: 'Browser Test App 2.1' }).count() > 0, 'targets are named');
  await shot('09-audit');
  await page.getByLabel('Include device registrations').check();
  await page.getByRole('button', { name: 'Filter' }).click();
  assert.match(await page.locator('#audit tbody').innerText(), /client\.registered/);
  const csv = await download(() => page.getByRole('link', { name: 'Export these events as CSV' }).click());
  assert.match(csv.text.split('\n')[0], /^seq,time,actor,role,programmer,action,target_kind,target_id,source_ip/);
  assert.match(csv.text, /clients\.bulk-revoked/);

  // The overview compares; every page fits a 360 px screen without sideways scrolling.
  await page.goto(`${base}/dashboard/applications`);
  assert.equal(await page.locator(`tr[data-app="${appId}"] [data-kpi="active"]`).innerText(), String(after.active_clients));
  await shot('10-overview');
  await page.setViewportSize({ width: 360, height: 740 });
  for (const [name, url] of [['11-narrow-overview', `${base}/dashboard/applications`], ['12-narrow-application', appUrl],
    ['13-narrow-client', `${base}/dashboard/clients/${fireTv.client_id}`], ['14-narrow-audit', `${base}/dashboard/audit`]]) {
    await page.goto(url);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    const culprits = await page.evaluate(() => [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > 361 && !e.closest('.scroll'))
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${e.className} → ${Math.round(e.getBoundingClientRect().right)}`)
      .slice(0, 8));
    assert.ok(width <= 360, `${name} is ${width} px wide at 360: ${culprits.join('; ')}`);
    await shot(name);
  }
  await page.setViewportSize({ width: 1280, height: 900 });

  // Signing out ends the session.
  await page.goto(appUrl);
  await Promise.all([page.waitForURL(/\/dashboard\/login$/), page.getByRole('button', { name: 'Sign out' }).click()]);
  await page.goto(appUrl);
  assert.match(page.url(), /\/dashboard\/login$/);
} catch (e) {
  failures.push(e.stack || String(e));
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.join('\n'));
  process.exit(1);
}
console.log(`dashboard in Chromium: leaked-statement walk-through, charts against the store, 360 px: ok (screenshots in ${shots})`);
