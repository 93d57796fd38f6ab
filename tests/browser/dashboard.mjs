// The dashboard end to end in a real browser (Debian's chromium, headless):
// sign in with the keyboard → create an application → download its software
// statement → register a client with that file over HTTP → revoke the statement in
// the UI after its confirmation → registration with it is refused.
//
// Env: DCR_URL, DCR_EMAIL, DCR_PASSWORD, SCREENSHOT_DIR. Exits non-zero on failure.
import { chromium } from 'playwright-core';
import { readFile, mkdir } from 'node:fs/promises';
import assert from 'node:assert/strict';
import path from 'node:path';

const base = process.env.DCR_URL;
const shots = process.env.SCREENSHOT_DIR;
await mkdir(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const failures = [];
try {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  page.on('pageerror', (e) => failures.push(`page error: ${e}`));

  // Sign in, keyboard only: the labels name the fields, Enter submits.
  await page.goto(`${base}/dashboard/applications`);
  assert.match(page.url(), /\/dashboard\/login$/, 'signed-out visitors land on the sign-in page');
  await page.getByLabel('Email').focus();
  await page.keyboard.type(process.env.DCR_EMAIL);
  await page.keyboard.press('Tab');
  await page.keyboard.type(process.env.DCR_PASSWORD);
  await Promise.all([page.waitForURL(/\/dashboard\/applications$/), page.keyboard.press('Enter')]);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === '__Host-dcr_session');
  assert.ok(session, 'a session cookie is set');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');

  // Create an application.
  await page.getByRole('link', { name: 'New application' }).click();
  await page.getByLabel('Name').fill('Browser Test App');
  await page.getByLabel('ios').check();
  await page.getByLabel('roku').check();
  await page.getByLabel('api:client:v2').check();
  await page.getByLabel(/Domains/).fill('https://www.acme.example');
  await Promise.all([page.waitForURL(/\/dashboard\/applications\/[0-9a-f-]{36}$/),
    page.getByRole('button', { name: 'Create application' }).click()]);
  await page.getByRole('heading', { name: 'Browser Test App' }).waitFor();
  const appUrl = page.url();

  // Download its software statement as a file.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download a new software statement' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^software-statement-[0-9a-f-]{36}\.jwt$/);
  const file = path.join(shots, download.suggestedFilename());
  await download.saveAs(file);
  const statement = (await readFile(file, 'utf8')).trim();
  assert.equal(statement.split('.').length, 3, 'the file holds a compact JWS');

  // Register a client with that file, over plain HTTP like an installed app would.
  const deviceInfo = Buffer.from(JSON.stringify({ osName: 'iOS', model: 'iPhone', primaryHardwareType: 'MobilePhone' })).toString('base64');
  const register = () => fetch(`${base}/o/client/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Device-Info': deviceInfo },
    body: JSON.stringify({ software_statement: statement }),
  });
  const first = await register();
  assert.equal(first.status, 201, 'registration with the downloaded statement succeeds');
  const client = await first.json();
  const token = await fetch(`${base}/o/client/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret }),
  });
  assert.equal(token.status, 201);

  // The application page counts the client and the token.
  await page.reload();
  assert.match(await page.locator('#client-count').innerText(), /^1 \(1 active\)/);
  assert.equal(await page.locator('#token-count').innerText(), '1');

  // Revoke the statement in the UI: a confirmation page first.
  const jti = JSON.parse(Buffer.from(statement.split('.')[1], 'base64url').toString()).jti;
  await page.getByRole('link', { name: `Revoke statement ${jti}` }).click();
  await page.getByRole('heading', { name: `Revoke software statement ${jti}?` }).waitFor();
  await page.screenshot({ path: path.join(shots, 'confirm-revoke.png'), fullPage: true });
  await Promise.all([page.waitForURL(appUrl), page.getByRole('button', { name: 'Revoke the statement' }).click()]);
  const row = page.getByRole('row', { name: new RegExp(jti) });
  assert.equal(await row.locator('.status').innerText(), 'revoked');
  const clientRow = page.getByRole('row', { name: new RegExp(client.client_id) });
  assert.equal(await clientRow.locator('.status').innerText(), 'cut off: statement revoked');
  assert.match(await page.locator('#client-count').innerText(), /^1 \(0 active\)/);
  await page.screenshot({ path: path.join(shots, 'dashboard.png'), fullPage: true });

  // Registration with the revoked statement is refused; its client is cut off.
  const again = await register();
  assert.equal(again.status, 400);
  assert.equal((await again.json()).error, 'unapproved_software_statement');
  const cutOff = await fetch(`${base}/o/client/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret }),
  });
  assert.equal(cutOff.status, 400);

  // The audit log shows the revocation by this user.
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByLabel('Action').fill('statement.revoked');
  await page.getByRole('button', { name: 'Filter' }).click();
  const audit = await page.locator('tbody').innerText();
  assert.match(audit, new RegExp(`user:${process.env.DCR_EMAIL}`));
  assert.match(audit, new RegExp(jti));
  await page.screenshot({ path: path.join(shots, 'audit.png'), fullPage: true });

  // Signing out ends the session.
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
console.log(`dashboard in Chromium: sign in, create application, download statement, register, revoke, refused: ok (screenshots in ${shots})`);
