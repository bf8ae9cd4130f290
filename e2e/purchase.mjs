// The demo purchase in a real headless browser: sign in on the demo store, buy a run,
// pay on the stand-in CyberSource page, and see the verified enrollment on the dashboard.
// Usage: node purchase.mjs http://127.0.0.1:PORT [chromium path]
import { chromium } from 'playwright-core';

const base = process.argv[2];
const executablePath = process.argv[3] || process.env.CHROMIUM || '/usr/bin/chromium';
const RUN = 'course-v1:MITx+6.00.1x+1T2027';
if (!base) {
  console.error('usage: node purchase.mjs BASE_URL [CHROMIUM]');
  process.exit(2);
}

function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
  console.log(`ok - ${message}`);
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(20000);
  page.on('dialog', async (dialog) => {
    console.error(`dialog: ${dialog.message()}`);
    await dialog.dismiss();
  });
  await page.goto(`${base}/demo/`);
  await page.fill('input[name=username]', 'browser-learner');
  await page.click('#sign-in');
  await page.waitForSelector('#username');
  check((await page.textContent('#username')) === 'browser-learner', 'signed in on the demo store');

  // Add the run's product to the basket; the store then checks out.
  await Promise.all([
    page.waitForURL(/\/demo\/cybersource\/pay\/$/),
    page.click(`button.buy[data-courseware="${RUN}"]`),
  ]);
  const reference = await page.textContent('#reference');
  check(/^mitxonline-.+-\d+$/.test(reference), `the payment page shows order ${reference}`);
  check((await page.textContent('#amount')) === '$75.00', 'the payment page shows the amount');

  // Pay: the page posts a signed ACCEPT back to /checkout/result/.
  await Promise.all([page.waitForURL(/\/dashboard\/$/), page.click('#accept')]);
  const message = await page.textContent('#user-message');
  check(message.includes('payment-accepted'), 'the dashboard says the payment was accepted');
  const row = page.locator('tr.enrollment', { hasText: RUN });
  check((await row.count()) === 1, 'the dashboard lists the run');
  check((await row.locator('td.mode').textContent()) === 'verified', 'the enrollment is verified');
  console.log('PASS: demo purchase in the browser');
} finally {
  await browser.close();
}
