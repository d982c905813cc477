// The dashboard in a real browser (Debian's chromium through playwright-core), against the
// app, worker and cluster that test/browser/run.sh started. Every number the pages show is
// checked against the JSON API. Screenshots of each page, desktop and phone, go to ZX_SHOTS.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { request } from 'node:http';
import { chromium } from 'playwright-core';

const BASE = process.env.ZX_APP_URL;
const SHOTS = process.env.ZX_SHOTS;
const WORKER_PID = Number(process.env.ZX_WORKER_PID);
const OTHER_JOB = process.env.ZX_OTHER_JOB;
const SECRET = process.env.ZX_JWT_SECRET;
const ARTIFACTS = process.env.ZX_ARTIFACTS;
const ANN = { email: 'ann@acme.test', password: 'ann-password-1' };
const GUS = { email: 'gus@globex.test', password: 'gus-password-1' };
const EXAMPLE = { ticker: 'DAX', strategy_type: 'SMA', fast_range: [10, 20], slow_range: [20, 30], step: 5 };
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

assert.ok(BASE && SHOTS && WORKER_PID && OTHER_JOB && SECRET && ARTIFACTS, 'run through test/browser/run.sh');

// The pages' number format: en-US, fixed decimals, a real minus sign.
const fmt = (v, d) => new Intl.NumberFormat('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })
	.format(Number(v)).replace(/^-/, '−');
const pct = (growth) => (growth >= 1 ? '+' : '') + fmt((growth - 1) * 100, 2) + ' %';

async function login(who) {
	const res = await fetch(BASE + '/api/login', {
		signal: AbortSignal.timeout(15000),
		method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(who),
	});
	assert.equal(res.status, 200);
	return (await res.json()).token;
}

async function api(token, path, init = {}) {
	const res = await fetch(BASE + path, {
		signal: AbortSignal.timeout(15000),
		...init,
		headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json', ...(init.headers || {}) },
	});
	const text = await res.text();
	let body = text;
	try { body = JSON.parse(text); } catch (e) { /* CSV */ }
	return { status: res.status, body };
}

// The status of a WebSocket handshake on /api/live offering these subprotocols (101: upgraded).
function handshake(protocols) {
	return new Promise((resolve, reject) => {
		const req = request(BASE + '/api/live', {
			headers: {
				Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
				'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol': protocols,
			},
			timeout: 10000,
		});
		req.on('upgrade', (res, socket) => { socket.destroy(); resolve(101); });
		req.on('response', (res) => { res.resume(); resolve(res.statusCode); });
		req.on('error', reject);
		req.end();
	});
}

// A dashboard token of ann's tenant, signed with the app's key, valid for `seconds`.
function shortLivedToken(seconds) {
	const now = Math.floor(Date.now() / 1000);
	const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
	const unsigned = part({ alg: 'HS256', typ: 'JWT' }) + '.' + part({
		iss: 'zixly', aud: 'zixly-dashboard', sub: 'u1', tid: 'acme', email: ANN.email, iat: now, exp: now + seconds,
	});
	return unsigned + '.' + createHmac('sha256', SECRET).update(unsigned).digest('base64url');
}

// Opens /api/live with this token and reads the server's frames (unmasked) until its close frame:
// resolves {code, reason, texts}, or null if none came within ms.
function liveUntilClosed(tok, ms) {
	return new Promise((resolve, reject) => {
		const req = request(BASE + '/api/live', {
			headers: {
				Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
				'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol': 'zixly-live, ' + tok,
			},
		});
		req.on('upgrade', (res, socket, head) => {
			let buf = head;
			const texts = [];
			const timer = setTimeout(() => { socket.destroy(); resolve(null); }, ms);
			const scan = () => {
				while (buf.length >= 2) {
					const op = buf[0] & 0x0f;
					let len = buf[1] & 0x7f, off = 2;
					if (len === 126) {
						if (buf.length < 4) return;
						len = buf.readUInt16BE(2);
						off = 4;
					}
					if (buf.length < off + len) return;
					const payload = buf.subarray(off, off + len);
					buf = buf.subarray(off + len);
					if (op === 1) texts.push(payload.toString());
					if (op === 8) {
						clearTimeout(timer);
						socket.destroy();
						resolve({ code: payload.readUInt16BE(0), reason: payload.subarray(2).toString(), texts });
						return;
					}
				}
			};
			socket.on('data', (d) => { buf = Buffer.concat([buf, d]); scan(); });
			scan();
		});
		req.on('response', (res) => { res.resume(); reject(new Error('/api/live answered ' + res.statusCode)); });
		req.on('error', reject);
		req.end();
	});
}

const psql = (sql) => execFileSync('psql', ['-qXAt', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' }).trim();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Queues a sweep for ann's tenant through the API and waits until the worker completed it.
async function completedSweep(params) {
	const created = await api(token, '/api/pipelines', { method: 'POST', body: JSON.stringify(params) });
	assert.equal(created.status, 202);
	const id = created.body.job_id;
	for (const end = Date.now() + 60000; Date.now() < end; await sleep(250)) {
		const job = (await api(token, '/api/pipelines/' + id)).body;
		if (job.status === 'COMPLETED') return job;
		assert.ok(['QUEUED', 'RUNNING'].includes(job.status), `job ${id} is ${job.status}`);
	}
	assert.fail(`job ${id} did not complete within 60 s`);
}

// A browser context logged in as ann without the login form (a token signed with the app's key).
async function annContext(options = {}) {
	const ctx = await browser.newContext({ viewport: DESKTOP, locale: 'en-US', ...options });
	const session = JSON.stringify({
		token: shortLivedToken(900), expires_at: new Date(Date.now() + 900000).toISOString(),
		email: ANN.email, tenant_id: 'acme',
	});
	await ctx.addInitScript((v) => localStorage.setItem('zixly.session', v), session);
	return ctx;
}

// "rgb(r, g, b)" -> [r, g, b]
const rgb = (css) => css.match(/\d+/g).slice(0, 3).map(Number);

let browser, desktop, token;
const pageErrors = [];

// Script errors and console errors (a refused Content-Security-Policy among them) fail the
// test that was running; HTTP errors the tests provoke (401, 400, 404) are checked by them.
function watch(page) {
	page.on('pageerror', (e) => pageErrors.push(page.url() + ': ' + e.message));
	page.on('console', (m) => {
		if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) pageErrors.push(page.url() + ': ' + m.text());
	});
	return page;
}

async function shot(page, name) {
	await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

async function uiLogin(page) {
	await page.goto(BASE + '/login');
	await page.fill('#email', ANN.email);
	await page.fill('#password', ANN.password);
	await Promise.all([page.waitForURL(BASE + '/dashboard'), page.click('button[type="submit"]')]);
}

// Fills the new-sweep form (the ticker list comes from GET /api/tickers).
async function fillForm(page, p) {
	await page.goto(BASE + '/dashboard/new');
	await page.waitForSelector(`#ticker option[value="${p.ticker}"]`, { state: 'attached' });
	await page.selectOption('#ticker', p.ticker);
	await page.selectOption('#strategy_type', p.strategy_type);
	await page.fill('#fast_from', String(p.fast_range[0]));
	await page.fill('#fast_to', String(p.fast_range[1]));
	await page.fill('#slow_from', String(p.slow_range[0]));
	await page.fill('#slow_to', String(p.slow_range[1]));
	await page.fill('#step', String(p.step));
}

const rowStatus = (page, id) => page.getAttribute(`#jobs tr[data-id="${id}"]`, 'data-status');

before(async () => {
	browser = await chromium.launch({ executablePath: process.env.ZX_CHROMIUM || '/usr/bin/chromium' });
	desktop = await (await browser.newContext({ viewport: DESKTOP, locale: 'en-US', acceptDownloads: true })).newPage();
	watch(desktop);
	token = await login(ANN);
});

after(async () => {
	if (browser) await browser.close();
});

afterEach(() => {
	assert.deepEqual(pageErrors.splice(0), [], 'no script errors on the pages');
});

describe('dashboard', () => {
	let jobId;

	test('landing page, then log in (a wrong password is refused on the page)', async () => {
		await desktop.goto(BASE + '/');
		assert.match(await desktop.textContent('h1'), /sweeps/i);
		await shot(desktop, 'landing-desktop');

		await desktop.goto(BASE + '/dashboard');
		await desktop.waitForURL(/\/login\?next=%2Fdashboard$/);
		await desktop.fill('#email', ANN.email);
		await desktop.fill('#password', 'not-the-password');
		await desktop.click('button[type="submit"]');
		await desktop.waitForSelector('#form-error:not(:empty)');
		assert.match(await desktop.textContent('#form-error'), /email or password is wrong/);
		await shot(desktop, 'login-desktop');

		await desktop.fill('#password', ANN.password);
		await Promise.all([desktop.waitForURL(BASE + '/dashboard'), desktop.click('button[type="submit"]')]);
		assert.equal(await desktop.textContent('#who'), ANN.email);
	});

	test('the form rejects fast >= slow ranges with the API\'s message next to the field', async () => {
		const bad = { ...EXAMPLE, fast_range: [30, 40], slow_range: [10, 20] };
		await fillForm(desktop, bad);
		assert.equal(await desktop.textContent('#combos'), 'No combination has fast < slow.');
		await desktop.click('button[type="submit"]');
		await desktop.waitForSelector('#slow_range-error:not(:empty)');

		const direct = await api(token, '/api/pipelines', { method: 'POST', body: JSON.stringify(bad) });
		assert.equal(direct.status, 400);
		const detail = direct.body.details.find((d) => d.field === 'slow_range');
		assert.ok(detail, 'the API names slow_range');
		assert.equal(await desktop.textContent('#slow_range-error'), detail.message);
		assert.match(await desktop.textContent('#form-error'), new RegExp(direct.body.message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
		assert.equal(await desktop.getAttribute('#slow_from', 'aria-invalid'), 'true');
		assert.equal(await desktop.evaluate(() => document.activeElement.id), 'slow_from');
		assert.equal(new URL(desktop.url()).pathname, '/dashboard/new');
		await shot(desktop, 'new-error-desktop');
	});

	test('submits the spec\'s example sweep and sees QUEUED become COMPLETED without a reload', async () => {
		await fillForm(desktop, EXAMPLE);
		assert.equal(await desktop.getAttribute('#combos', 'data-count'), '8');
		assert.equal(await desktop.textContent('#combos'), '8 combinations to backtest');
		await shot(desktop, 'new-desktop');
		await Promise.all([desktop.waitForURL(/\/dashboard\?created=/), desktop.click('button[type="submit"]')]);
		jobId = new URL(desktop.url()).searchParams.get('created');
		assert.match(jobId, /^[a-z0-9]+$/);

		await desktop.waitForSelector(`#jobs tr[data-id="${jobId}"]`);
		assert.equal(await rowStatus(desktop, jobId), 'QUEUED');
		await desktop.waitForSelector('#live[data-state="live"]');
		await desktop.evaluate(() => { window.zxSameDocument = true; });
		await shot(desktop, 'dashboard-queued-desktop');

		// Another tenant's list, listening at the same time, hears nothing of this job.
		const other = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
		const gus = watch(await other.newPage());
		const heard = [];
		gus.on('websocket', (ws) => ws.on('framereceived', (f) => heard.push(String(f.payload))));
		await gus.goto(BASE + '/login');
		await gus.fill('#email', GUS.email);
		await gus.fill('#password', GUS.password);
		await Promise.all([gus.waitForURL(BASE + '/dashboard'), gus.click('button[type="submit"]')]);
		await gus.waitForSelector('#live[data-state="live"]');

		process.kill(WORKER_PID, 'SIGUSR1');	// the worker starts claiming
		await desktop.waitForSelector(`#jobs tr[data-id="${jobId}"][data-status="COMPLETED"]`, { timeout: 60000 });
		assert.equal(await desktop.evaluate(() => window.zxSameDocument), true, 'the page was not reloaded');
		assert.equal(await desktop.getAttribute('#live', 'data-state'), 'live', 'pushed, not polled');
		await gus.waitForTimeout(500);
		assert.ok(heard.includes('{"type":"ready"}'), 'the other tenant is connected');
		assert.equal(heard.filter((f) => f.includes(jobId)).length, 0, 'no event of another tenant');
		assert.equal(await gus.$(`#jobs tr[data-id="${jobId}"]`), null);
		await other.close();

		const job = (await api(token, '/api/pipelines/' + jobId)).body;
		assert.equal(job.status, 'COMPLETED');
		const cells = await desktop.$$eval(`#jobs tr[data-id="${jobId}"] td`, (tds) => tds.map((t) => t.textContent));
		assert.equal(cells[2], 'DAX');
		assert.equal(cells[3], 'SMA');
		assert.equal(cells[6], fmt(job.top_results[0].score, 3));
		await shot(desktop, 'dashboard-desktop');
	});

	test('the job page: table, heatmap and equity curve as the API has them; sorting; CSV', async () => {
		await Promise.all([desktop.waitForURL(BASE + '/dashboard/jobs/' + jobId), desktop.click(`#jobs tr[data-id="${jobId}"] a`)]);
		await desktop.waitForSelector('#top tbody tr');
		await desktop.waitForSelector('#heat td[data-value]');
		await desktop.waitForSelector('#equity canvas');
		const job = (await api(token, '/api/pipelines/' + jobId)).body;
		const grid = (await api(token, `/api/pipelines/${jobId}/results`)).body;

		// top results, by rank
		const top = job.top_results;
		const rows = await desktop.$$eval('#top tbody tr', (trs) => trs.map((tr) =>
			Object.fromEntries([...tr.cells].map((td) => [td.dataset.key, td.textContent]))));
		assert.equal(rows.length, top.length);
		top.forEach((r, i) => {
			assert.equal(rows[i].rank, fmt(r.rank, 0));
			assert.equal(rows[i].fast_period, fmt(r.fast_period, 0));
			assert.equal(rows[i].slow_period, fmt(r.slow_period, 0));
			assert.equal(rows[i].score, fmt(r.score, 3));
			assert.equal(rows[i].total_return_pct, fmt(r.total_return_pct, 2) + ' %');
			assert.equal(rows[i].total_trades, fmt(r.total_trades, 0));
		});

		// the heatmap: one cell per combination of the full grid
		const fast = (r) => r.fast_period ?? r.fast, slow = (r) => r.slow_period ?? r.slow;
		assert.equal(grid.results.length, 8, 'the spec example has 8 combinations');
		const heat = await desktop.$$eval('#heat td[data-value]', (tds) => tds.map((td) => ({
			fast: Number(td.dataset.fast), slow: Number(td.dataset.slow), value: Number(td.dataset.value),
			text: td.textContent, best: td.classList.contains('best'),
		})));
		assert.equal(heat.length, grid.results.length);
		for (const r of grid.results) {
			const c = heat.find((x) => x.fast === fast(r) && x.slow === slow(r));
			assert.ok(c, `cell fast ${fast(r)} slow ${slow(r)}`);
			assert.equal(c.value, r.score);
			assert.equal(c.text, fmt(r.score, 3));
		}
		const best = heat.filter((c) => c.best);
		assert.deepEqual(best.map((c) => [c.fast, c.slow]), [[top[0].fast_period, top[0].slow_period]]);

		// the equity curve: ends where the API's series end; the strategy ends at the best's return
		const curve = job.result.equity_curve;
		const last = (a) => a[a.length - 1];
		assert.equal(await desktop.textContent('#equity-strategy'), pct(last(curve.strategy)));
		assert.equal(await desktop.textContent('#equity-hold'), pct(last(curve.buy_and_hold)));
		assert.ok(Math.abs((last(curve.strategy) - 1) * 100 - top[0].total_return_pct) < 1e-6,
			'the curve is the best combination\'s');
		const box = await desktop.locator('#equity canvas').boundingBox();
		assert.ok(box.width > 600 && box.height > 200, 'the chart is drawn at a readable size');
		await shot(desktop, 'job-desktop');

		// sorting by Sharpe ratio (descending first), then back
		await desktop.click('#top button[data-key="sharpe_ratio"]');
		assert.equal(await desktop.getAttribute('#top th:has(button[data-key="sharpe_ratio"])', 'aria-sort'), 'descending');
		const sharpe = await desktop.$$eval('#top tbody td[data-key="sharpe_ratio"]', (tds) => tds.map((t) => t.textContent));
		assert.deepEqual(sharpe, top.map((r) => r.sharpe_ratio).sort((a, b) => b - a).map((v) => fmt(v, 3)));
		assert.equal(await desktop.evaluate(() => document.activeElement.dataset.key), 'sharpe_ratio');

		// the CSV download is the API's CSV
		const [download] = await Promise.all([desktop.waitForEvent('download'), desktop.click('#csv')]);
		assert.equal(download.suggestedFilename(), `${jobId}-results.csv`);
		const csv = readFileSync(await download.path(), 'utf8');
		const direct = await api(token, `/api/pipelines/${jobId}/results?format=csv`);
		assert.equal(csv, direct.body);
		assert.equal(csv.trim().split(/\r?\n/).length, grid.results.length + 1, 'a header and a line per combination');
	});

	test('a sweep ranked by max_drawdown_pct: the best is rank 1, the lowest drawdown, everywhere', async () => {
		const job = await completedSweep({ ...EXAMPLE, strategy_type: 'EMA', objective: 'max_drawdown_pct' });
		const grid = (await api(token, `/api/pipelines/${job.id}/results`)).body;
		assert.equal(grid.complete, true);
		const ranked = grid.results.filter((r) => r.rank >= 1);
		const lowest = Math.min(...ranked.map((r) => r.score));
		const first = grid.results.find((r) => r.rank === 1);
		assert.equal(first.score, lowest, 'the worker ranks the lowest drawdown first');
		assert.deepEqual(job.top_results.map((r) => r.rank), ranked.map((r) => r.rank).sort((a, b) => a - b),
			'the API gives the top results in rank order');

		await desktop.goto(BASE + '/dashboard');
		await desktop.waitForSelector(`#jobs tr[data-id="${job.id}"]`);
		const cells = await desktop.$$eval(`#jobs tr[data-id="${job.id}"] td`, (tds) => tds.map((t) => t.textContent));
		assert.equal(cells[6], fmt(lowest, 3), 'Best score is the lowest drawdown');

		await desktop.goto(BASE + '/dashboard/jobs/' + job.id);
		await desktop.waitForSelector('#heat td[data-value]');
		const heat = await desktop.$$eval('#heat td[data-value]', (tds) => tds.map((td) => ({
			fast: Number(td.dataset.fast), slow: Number(td.dataset.slow), value: Number(td.dataset.value),
			best: td.classList.contains('best'), bg: getComputedStyle(td).backgroundColor,
		})));
		const best = heat.filter((c) => c.best);
		assert.deepEqual(best.map((c) => [c.fast, c.slow]), [[first.fast, first.slow]], 'the outlined cell is rank 1');
		const [r, , b] = rgb(best[0].bg);
		assert.ok(b > r, `the lowest drawdown is blue (better), got ${best[0].bg}`);
		const worst = heat.reduce((w, c) => (c.value > w.value ? c : w));
		const [wr, , wb] = rgb(worst.bg);
		assert.ok(wr > wb, `the highest drawdown is red (worse), got ${worst.bg}`);
		assert.match(await desktop.textContent('#heatmap .legend'), /lower is better/);
		await shot(desktop, 'job-drawdown-desktop');
	});

	test('a steady stream of job events still refreshes the list (at least every second)', async () => {
		// The page's /api/live goes to the app as usual; the test adds, on that connection, an
		// event every 50 ms (as a busy tenant's other jobs would send), and queues one real job.
		// The old page reloaded only after 200 ms without an event, so the check below that no
		// such gap occurred is what makes this test able to fail; 50 ms leaves a loaded machine
		// room for a 150 ms stall.
		const ctx = await annContext();
		const page = watch(await ctx.newPage());
		let toPage = null;
		await page.routeWebSocket(/\/api\/live$/, (ws) => { ws.connectToServer(); toPage = ws; });
		await page.goto(BASE + '/dashboard');
		await page.waitForSelector('#jobs tbody tr');
		await page.waitForSelector('#live[data-state="live"]');
		const sent = [];
		const ticker = setInterval(() => {
			toPage.send(JSON.stringify({ type: 'jobs', ids: ['elsewhere' + sent.length], tenant_id: 'acme', status: 'QUEUED' }));
			sent.push(Date.now());
		}, 50);
		try {
			await sleep(600);
			const t0 = Date.now();
			// (psql asynchronously: the events go on meanwhile)
			const id = await new Promise((resolve, reject) => execFile('psql', ['-qXAt', '-v', 'ON_ERROR_STOP=1', '-c',
				`SELECT id FROM zixly_enqueue('trading-sweep',
				'{"ticker":"SMI","strategy_type":"SMA","fast_range":[5,10],"slow_range":[20,30],"step":5}',
				tenant_id => 'acme', run_at => now() + interval '1 hour')`], { encoding: 'utf8' },
			(err, out) => (err ? reject(err) : resolve(out.trim()))));
			await page.waitForSelector(`#jobs tr[data-id="${id}"]`, { timeout: 3000 });
			const shown = Date.now();
			const during = sent.filter((t) => t >= t0 - 200 && t <= shown);
			const gaps = during.slice(1).map((t, i) => t - during[i]);
			assert.ok(during.length >= 3 && Math.max(...gaps) < 200,
				`events kept coming every < 200 ms meanwhile (gaps ${gaps.join(',')} ms)`);
		} finally {
			clearInterval(ticker);
			await ctx.close();
		}
	});

	test('after logging in, only pages of this site are followed (next=)', async () => {
		const ctx = await annContext();
		await ctx.route((url) => url.hostname === 'evil.example', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>phished</h1>' }));
		const page = watch(await ctx.newPage());
		const cases = [
			['/dashboard/new', '/dashboard/new'],
			['/dashboard?status=FAILED', '/dashboard?status=FAILED'],
			['/\\evil.example/phish', '/dashboard'],
			['/\\/evil.example/phish', '/dashboard'],
			['//evil.example/phish', '/dashboard'],
			['/\t/evil.example/phish', '/dashboard'],
			['https://evil.example/phish', '/dashboard'],
			['javascript:alert(1)', '/dashboard'],
		];
		for (const [next, want] of cases) {
			await page.goto(BASE + '/login?next=' + encodeURIComponent(next));
			await page.waitForURL((u) => u.pathname !== '/login');
			const u = new URL(page.url());
			assert.equal(u.origin, new URL(BASE).origin, `next=${JSON.stringify(next)} stays on this site`);
			assert.equal(u.pathname + u.search, want, `next=${JSON.stringify(next)}`);
		}
		await ctx.close();
	});

	test('a losing strategy\'s equity reads "−52.42 %", never "+−"', async () => {
		await desktop.goto(BASE + '/dashboard/jobs/' + jobId);
		await desktop.waitForSelector('#equity canvas');
		const [text, label] = await desktop.evaluate(async () => {
			const { renderEquity } = await import('/assets/equity.js');
			const el = document.createElement('div'), summary = document.createElement('p');
			document.body.append(el, summary);
			renderEquity(el, summary, { dates: ['2020-01-02', '2020-01-03'], strategy: [1, 0.4758], buy_and_hold: [1, 1.1] });
			const out = [summary.textContent, el.getAttribute('aria-label')];
			el.remove();
			summary.remove();
			return out;
		});
		assert.match(text, /^Strategy: −52\.42 % · Buy and hold: \+10\.00 % · /);
		assert.equal(label, 'Equity curve: the strategy ends at −52.42 %, buy and hold at +10.00 %.');
	});

	test('the form refuses numbers the browser cannot read (1e, 2,5) on their field, sending nothing', async () => {
		const posts = [];
		const onRequest = (r) => { if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/pipelines') posts.push(r.url()); };
		desktop.on('request', onRequest);
		try {
			for (const [field, text] of [['fee_bps', '1e'], ['fee_bps', '2,5'], ['min_trades', '2,5'], ['step', '2,5']]) {
				await fillForm(desktop, EXAMPLE);
				await desktop.fill('#' + field, '');
				await desktop.locator('#' + field).pressSequentially(text);
				await desktop.click('button[type="submit"]');
				await desktop.waitForSelector(`#${field}-error:not(:empty)`, { timeout: 3000 });
				assert.match(await desktop.textContent(`#${field}-error`), new RegExp(`^"${text}" is not a (whole )?number`));
				assert.equal(await desktop.getAttribute('#' + field, 'aria-invalid'), 'true');
				assert.equal(await desktop.evaluate(() => document.activeElement.id), field);
				assert.match(await desktop.textContent('#form-error'), /nothing was submitted/);
				assert.equal(new URL(desktop.url()).pathname, '/dashboard/new');
			}
			await shot(desktop, 'new-unreadable-desktop');
			await desktop.waitForTimeout(300);
			assert.deepEqual(posts, [], 'no sweep was sent');
		} finally {
			desktop.off('request', onRequest);
		}
		// a fee the form can read is sent as it reads
		await fillForm(desktop, EXAMPLE);
		await desktop.fill('#fee_bps', '2.5');
		await Promise.all([desktop.waitForURL(/\/dashboard\?created=/), desktop.click('button[type="submit"]')]);
		const created = new URL(desktop.url()).searchParams.get('created');
		assert.equal((await api(token, '/api/pipelines/' + created)).body.parameters.fee_bps, 2.5);
	});

	test('equity dates are the bars\' dates (UTC) in any time zone', async () => {
		const ctx = await annContext({ timezoneId: 'America/New_York' });
		const page = watch(await ctx.newPage());
		await page.goto(BASE + '/dashboard/jobs/' + jobId);
		await page.waitForSelector('#equity canvas');
		assert.equal(await page.evaluate(() => new Date(0).getTimezoneOffset()), 300, 'the page runs in New York');
		const job = (await api(token, '/api/pipelines/' + jobId)).body;
		const curve = job.result.equity_curve;
		const dates = curve.dates.map((d) => String(d).slice(0, 10));
		await page.locator('#equity .u-over').scrollIntoViewIfNeeded();
		const over = await page.locator('#equity .u-over').boundingBox();
		const legend = () => page.$$eval('#equity .u-legend .u-series .u-value', (tds) => tds.map((t) => t.textContent.trim()));
		for (const f of [0.01, 0.5, 0.99]) {
			await page.mouse.move(over.x + over.width * f, over.y + over.height / 2);
			const [shown, strategy, hold] = await legend();
			assert.match(shown, /^\d{4}-\d{2}-\d{2}$/, `a date alone (${shown})`);
			const i = dates.indexOf(shown);
			assert.ok(i >= 0, `${shown} is one of the bars' dates`);
			assert.deepEqual([strategy, hold], [fmt(curve.strategy[i], 3), fmt(curve.buy_and_hold[i], 3)],
				`${shown} is shown with its own bar's values`);
		}
		await ctx.close();
	});

	test('a grid without its artifact says only the top rows are shown', async () => {
		const job = await completedSweep({ ...EXAMPLE, fast_range: [5, 50], slow_range: [20, 100], step: 5 });
		const file = `${ARTIFACTS}/${job.id}.csv`;
		assert.ok(existsSync(file), 'the worker wrote the grid file');
		renameSync(file, file + '.away');
		try {
			const grid = (await api(token, `/api/pipelines/${job.id}/results`)).body;
			assert.equal(grid.complete, false);
			assert.ok(grid.combinations > grid.count, `${grid.count} of ${grid.combinations}`);
			await desktop.goto(BASE + '/dashboard/jobs/' + job.id);
			await desktop.waitForSelector('#heat td[data-value]');
			await desktop.waitForSelector('#grid-notice', { state: 'visible', timeout: 3000 });
			const notice = await desktop.textContent('#grid-notice');
			assert.match(notice, new RegExp(`^Only the top ${grid.count} of ${fmt(grid.combinations, 0)} combinations are available`));
			assert.match(notice, /heatmap and the CSV download show only these/);
			assert.equal(await desktop.$$eval('#heat td[data-value]', (tds) => tds.length), grid.count);
			await shot(desktop, 'job-partial-grid-desktop');
		} finally {
			renameSync(file + '.away', file);
		}
		await desktop.goto(BASE + '/dashboard/jobs/' + job.id);
		await desktop.waitForSelector('#heat td[data-value]');
		assert.equal(await desktop.isVisible('#grid-notice'), false, 'no notice for the whole grid');
	});

	test('an ended session goes to /login and, after logging in, back to the same page', async () => {
		await desktop.goto(BASE + '/dashboard?status=COMPLETED');
		await desktop.waitForSelector('#jobs tbody tr');
		await desktop.evaluate(() => {
			const s = JSON.parse(localStorage.getItem('zixly.session'));
			localStorage.setItem('zixly.session', JSON.stringify({ ...s, token: s.token.slice(0, -4) + 'xxxx' }));
		});
		await Promise.all([desktop.waitForURL(/\/login/), desktop.selectOption('#status-filter', 'FAILED')]);
		assert.equal(new URL(desktop.url()).searchParams.get('next'), '/dashboard?status=FAILED');
		await desktop.fill('#email', ANN.email);
		await desktop.fill('#password', ANN.password);
		await Promise.all([desktop.waitForURL(BASE + '/dashboard?status=FAILED'), desktop.click('button[type="submit"]')]);
		assert.equal(await desktop.textContent('#who'), ANN.email);
	});

	test('the push connection needs a valid token', async () => {
		assert.equal(await handshake('zixly-live, ' + token), 101);
		assert.equal(await handshake('zixly-live'), 401);
		assert.equal(await handshake('zixly-live, ' + token.slice(0, -2) + 'xx'), 401);
		assert.equal(await handshake(token), 401, 'the subprotocol must be offered');
	});

	test('the push connection closes with 4001 once its token expires', async () => {
		// the heartbeat that checks tokens runs every 20 s
		const closed = await liveUntilClosed(shortLivedToken(2), 30000);
		assert.ok(closed, 'closed within 30 s');
		assert.equal(closed.code, 4001);
		assert.equal(closed.reason, 'token expired');
		assert.deepEqual(closed.texts.map((t) => JSON.parse(t).type), ['ready'], 'it was live first');
	});

	test('another tenant\'s job URL shows not found; unknown pages are a 404', async () => {
		assert.equal((await api(token, '/api/pipelines/' + OTHER_JOB)).status, 404);
		await desktop.goto(BASE + '/dashboard/jobs/' + OTHER_JOB);
		await desktop.waitForSelector('#not-found', { state: 'visible' });
		assert.equal(await desktop.textContent('#not-found h1'), 'Job not found');
		assert.equal(await desktop.isVisible('#job'), false);
		assert.equal(await desktop.textContent('body').then((t) => t.includes('SMI')), false);
		await shot(desktop, 'job-not-found-desktop');

		const res = await desktop.goto(BASE + '/dashboard/nothing-here');
		assert.equal(res.status(), 404);
		await shot(desktop, 'page-404-desktop');
	});

	test('cancel and retry on the job page; the retried job completes live', async () => {
		const id = psql(`SELECT id FROM zixly_enqueue('trading-sweep',
			'{"ticker":"FTSE","strategy_type":"EMA","fast_range":[5,15],"slow_range":[20,40],"step":5}',
			tenant_id => 'acme', run_at => now() + interval '1 hour')`);
		await desktop.goto(BASE + '/dashboard/jobs/' + id);
		await desktop.waitForSelector('#job-status .status[data-status="QUEUED"]');
		await desktop.waitForSelector('#live[data-state="live"]');
		await desktop.evaluate(() => { window.zxSameDocument = true; });
		assert.equal(await desktop.isDisabled('#retry'), true);
		await desktop.click('#cancel');
		await desktop.waitForSelector('#job-status .status[data-status="CANCELLED"]');
		assert.equal(await desktop.isDisabled('#cancel'), true);
		await shot(desktop, 'job-cancelled-desktop');
		await desktop.click('#retry');
		await desktop.waitForSelector('#job-status .status[data-status="COMPLETED"]', { timeout: 60000 });
		await desktop.waitForSelector('#heat td[data-value]');
		assert.equal(await desktop.evaluate(() => window.zxSameDocument), true, 'the page was not reloaded');
		assert.equal((await api(token, '/api/pipelines/' + id)).body.status, 'COMPLETED');
	});

	test('without the push connection the list polls, and still follows new jobs', async () => {
		const ctx = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
		const page = watch(await ctx.newPage());
		await page.routeWebSocket(/\/api\/live$/, (ws) => ws.close());
		await uiLogin(page);
		await page.waitForSelector('#live[data-state="polling"]');
		const created = await api(token, '/api/pipelines', {
			method: 'POST', body: JSON.stringify({ ...EXAMPLE, ticker: 'CAC', strategy_type: 'EMA' }),
		});
		assert.equal(created.status, 202);
		await page.waitForSelector(`#jobs tr[data-id="${created.body.job_id}"][data-status="COMPLETED"]`, { timeout: 30000 });
		await ctx.close();
	});

	test('every page at phone width: no sideways scrolling; screenshots', async () => {
		const ctx = await browser.newContext({ viewport: PHONE, locale: 'en-US', isMobile: true, hasTouch: true });
		const page = watch(await ctx.newPage());
		const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
		await page.goto(BASE + '/');
		assert.ok(await fits(), 'landing fits');
		await shot(page, 'landing-phone');
		await page.goto(BASE + '/login');
		await shot(page, 'login-phone');
		await uiLogin(page);
		await page.waitForSelector(`#jobs tr[data-id="${jobId}"]`);
		assert.ok(await fits(), 'job list fits');
		await shot(page, 'dashboard-phone');
		await fillForm(page, EXAMPLE);
		assert.ok(await fits(), 'form fits');
		await shot(page, 'new-phone');
		await page.goto(BASE + '/dashboard/jobs/' + jobId);
		await page.waitForSelector('#equity canvas');
		await page.waitForSelector('#heat td[data-value]');
		assert.ok(await fits(), 'job page fits');
		await shot(page, 'job-phone');
		await page.goto(BASE + '/dashboard/jobs/' + OTHER_JOB);
		await page.waitForSelector('#not-found', { state: 'visible' });
		await shot(page, 'job-not-found-phone');
		await ctx.close();
	});

	test('the status filter and paging show what the API pages give', async () => {
		psql(`SELECT count(zixly_enqueue('trading-sweep',
			'{"ticker":"SMI","strategy_type":"SMA","fast_range":[5,10],"slow_range":[20,30],"step":5}',
			tenant_id => 'acme', run_at => now() + interval '1 hour')) FROM generate_series(1, 25)`);
		const page1 = (await api(token, '/api/pipelines?status=QUEUED&limit=20')).body;
		assert.equal(page1.jobs.length, 20);
		assert.ok(page1.next_cursor);
		const page2 = (await api(token, '/api/pipelines?status=QUEUED&limit=20&cursor=' + page1.next_cursor)).body;
		const ids = () => desktop.$$eval('#jobs tbody tr', (trs) => trs.map((tr) => tr.dataset.id));

		await desktop.goto(BASE + '/dashboard');
		await desktop.waitForSelector('#jobs tbody tr');
		await desktop.selectOption('#status-filter', 'QUEUED');
		await desktop.waitForURL(BASE + '/dashboard?status=QUEUED');
		await desktop.waitForFunction((first) => document.querySelector('#jobs tbody tr')?.dataset.id === first, page1.jobs[0].id);
		assert.deepEqual(await ids(), page1.jobs.map((j) => j.id));
		assert.equal(await desktop.isDisabled('#newer'), true);
		await desktop.click('#older');
		await desktop.waitForFunction((first) => document.querySelector('#jobs tbody tr')?.dataset.id === first, page2.jobs[0].id);
		assert.deepEqual(await ids(), page2.jobs.map((j) => j.id));
		assert.equal(await desktop.isDisabled('#older'), page2.next_cursor === null);
		await desktop.click('#newer');
		await desktop.waitForFunction((first) => document.querySelector('#jobs tbody tr')?.dataset.id === first, page1.jobs[0].id);
		assert.deepEqual(await ids(), page1.jobs.map((j) => j.id));
		await desktop.selectOption('#status-filter', 'CANCELLED');
		await desktop.waitForSelector('#empty', { state: 'visible' });
		assert.equal(await desktop.$$eval('#jobs tbody tr', (trs) => trs.length), 0);
	});
});
