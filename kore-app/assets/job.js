// /dashboard/jobs/{id}: one job (GET /api/pipelines/{id}): parameters,
// status timeline, cancel and retry, and once it completed the top
// results, the heatmap of the whole grid (GET .../results) and the equity
// curve of the best combination. A job of another tenant is a 404 there,
// so it is "not found" here.
import {
	ApiError, announce, api, fmtDuration, fmtInt, fmtNum, fmtPct, fmtRatio, fmtTime, h, initHeader,
	jobDuration, live, statusBadge,
} from '/assets/common.js';
import { renderHeatmap } from '/assets/heatmap.js';
import { renderEquity } from '/assets/equity.js';

await initHeader();

const id = decodeURIComponent(location.pathname.split('/').pop());
const $ = (x) => document.getElementById(x);
const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED'];
let job = null, grid = null, sort = { key: 'rank', dir: 1 }, equityDrawn = false;

const COLUMNS = [
	{ key: 'rank', label: 'Rank', fmt: fmtInt },
	{ key: 'fast_period', label: 'Fast', fmt: fmtInt },
	{ key: 'slow_period', label: 'Slow', fmt: fmtInt },
	{ key: 'score', label: 'Score', fmt: fmtRatio },
	{ key: 'sharpe_ratio', label: 'Sharpe', fmt: fmtRatio },
	{ key: 'total_return_pct', label: 'Return', fmt: fmtPct },
	{ key: 'max_drawdown_pct', label: 'Max. drawdown', fmt: fmtPct },
	{ key: 'total_trades', label: 'Trades', fmt: fmtInt },
	{ key: 'win_rate_pct', label: 'Win rate', fmt: fmtPct },
];

function kv(dl, pairs) {
	dl.replaceChildren(...pairs.filter(([, v]) => v !== undefined && v !== null && v !== '')
		.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

const OBJECTIVES = {
	sharpe_ratio: 'Sharpe ratio', sortino_ratio: 'Sortino ratio', total_return_pct: 'Total return',
	max_drawdown_pct: 'Max. drawdown', profit_factor: 'Profit factor', win_rate_pct: 'Win rate',
};
const objective = (o) => OBJECTIVES[o || 'sharpe_ratio'] || o;

const range = (r) => Array.isArray(r) ? `${fmtInt(r[0])} to ${fmtInt(r[1])}` : '—';

function renderParams() {
	const p = job.parameters || {};
	kv($('params'), [
		['Ticker', p.ticker], ['Strategy', p.strategy_type], ['Fast period', range(p.fast_range)],
		['Slow period', range(p.slow_range)], ['Step', p.step !== undefined ? fmtInt(p.step) : null],
		['Signal period', p.signal_period !== undefined ? fmtInt(p.signal_period) : null],
		['Min. trades', p.min_trades !== undefined ? fmtInt(p.min_trades) : null],
		['Fee', p.fee_bps !== undefined ? fmtNum(p.fee_bps, 2) + ' bps' : null],
		['Rank by', objective(p.objective)], ['Queue', job.queue], ['Priority', fmtInt(job.priority)],
	]);
}

function renderTimeline() {
	const items = [h('li', null, 'Queued', h('span', { class: 'when' }, fmtTime(job.created_at)))];
	if (job.started_at) {
		items.push(h('li', null, `Started (attempt ${job.attempts} of ${job.max_attempts})`,
			h('span', { class: 'when' }, fmtTime(job.started_at))));
	}
	if (job.error_message) {
		items.push(h('li', { class: 'bad' }, 'Error: ' + job.error_message));
	}
	if (job.status === 'QUEUED' && job.attempts > 0) {
		items.push(h('li', null, 'Waiting to be tried again', h('span', { class: 'when' }, 'from ' + fmtTime(job.run_at))));
	} else if (job.status === 'QUEUED' && Date.parse(job.run_at) > Date.parse(job.created_at) + 1000) {
		items.push(h('li', null, 'Scheduled to start', h('span', { class: 'when' }, 'from ' + fmtTime(job.run_at))));
	}
	if (job.status === 'RUNNING') {
		items.push(h('li', null, 'Running', h('span', { class: 'when' }, 'for ' + fmtDuration(jobDuration(job)))));
	}
	if (TERMINAL.includes(job.status)) {
		const label = { COMPLETED: 'Completed', FAILED: 'Failed', CANCELLED: 'Cancelled' }[job.status];
		items.push(h('li', { class: job.status === 'COMPLETED' ? null : 'bad' }, label,
			h('span', { class: 'when' }, fmtTime(job.completed_at)
				+ (job.started_at && job.completed_at ? ' · ran ' + fmtDuration(jobDuration(job)) : ''))));
	}
	$('timeline').replaceChildren(...items);
}

function renderTop() {
	const rows = (job.top_results || []).slice();
	const cols = COLUMNS.slice();
	if ((job.parameters || {}).strategy_type === 'MACD') cols.splice(3, 0, { key: 'signal_period', label: 'Signal', fmt: fmtInt });
	rows.sort((a, b) => {
		const x = Number(a[sort.key]), y = Number(b[sort.key]);
		if (Number.isNaN(x)) return 1;
		if (Number.isNaN(y)) return -1;
		return (x - y) * sort.dir || a.rank - b.rank;
	});
	$('top').tHead.replaceChildren(h('tr', null, cols.map((c) => h('th', {
		scope: 'col', class: c.key === 'rank' ? null : 'num',
		'aria-sort': sort.key === c.key ? (sort.dir > 0 ? 'ascending' : 'descending') : null,
	}, h('button', {
		type: 'button', class: 'sort', 'data-key': c.key,
		onclick: () => {
			sort = { key: c.key, dir: sort.key === c.key ? -sort.dir : (c.key === 'rank' || c.key === 'max_drawdown_pct' ? 1 : -1) };
			renderTop();
			document.querySelector(`#top button[data-key="${c.key}"]`).focus();
		},
	}, c.label)))));
	$('top').tBodies[0].replaceChildren(...rows.map((r) => h('tr', null,
		cols.map((c) => h('td', { class: c.key === 'rank' ? null : 'num', 'data-key': c.key }, c.fmt(r[c.key]))))));
}

function renderSummary() {
	const r = job.result || {};
	kv($('summary'), [
		['Bars', r.bars !== undefined ? `${fmtInt(r.bars)} (${r.first_date} to ${r.last_date})` : null],
		['Combinations', r.combinations !== undefined ? fmtInt(r.combinations) : null],
		['Ranked', r.ranked !== undefined ? fmtInt(r.ranked) : null],
		['Run time', r.duration_seconds !== undefined ? fmtDuration(Number(r.duration_seconds)) : null],
	]);
}

// The best combination: rank 1 by the job's objective (top_results come
// in rank order; unranked rows, rank 0, last).
const bestResult = () => (job.top_results || []).find((r) => r.rank >= 1);
const heatmap = () => renderHeatmap($('heatmap'), grid.results, $('heat-metric').value, bestResult(),
	(job.parameters || {}).objective);

// The grid from the database's top rows only (the artifact is unavailable):
// said above the heatmap, which with the CSV download shows only those.
function renderGridNotice() {
	const box = $('grid-notice');
	const partial = grid.complete === false;
	box.classList.toggle('hidden', !partial);
	if (!partial) return;
	const n = grid.count ?? grid.results.length;
	box.textContent = (grid.combinations !== null && grid.combinations !== undefined
		? `Only the top ${fmtInt(n)} of ${fmtInt(grid.combinations)} combinations are available`
		: `Only the top ${fmtInt(n)} combinations are available`)
		+ (grid.grid_unavailable ? ` (${grid.grid_unavailable})` : '')
		+ ': the heatmap and the CSV download show only these.';
}

async function renderResults() {
	$('results').classList.toggle('hidden', job.status !== 'COMPLETED');
	if (job.status !== 'COMPLETED') return;
	renderSummary();
	renderTop();
	const curve = (job.result || {}).equity_curve;
	if (curve && !equityDrawn) {
		equityDrawn = true;
		renderEquity($('equity'), $('equity-summary'), curve);
	} else if (!curve) {
		$('equity-summary').textContent = 'No equity curve was stored for this job.';
	}
	if (!grid) {
		try {
			grid = await api(`/api/pipelines/${encodeURIComponent(id)}/results`);
		} catch (e) {
			$('heatmap').replaceChildren(h('p', { class: 'notice error' }, 'The grid could not be loaded: ' + e.message));
			return;
		}
	}
	renderGridNotice();
	heatmap();
}

function renderActions() {
	$('cancel').disabled = !['QUEUED', 'RUNNING'].includes(job.status);
	$('retry').disabled = !['FAILED', 'CANCELLED'].includes(job.status);
	$('csv').disabled = job.status !== 'COMPLETED';
}

function render() {
	document.title = `Job ${id} (${job.status}) · zixly`;
	$('job-id').textContent = id;
	$('job-status').replaceChildren(statusBadge(job.status));
	const err = $('job-error');
	err.classList.toggle('hidden', job.status !== 'FAILED' || !job.error_message);
	err.textContent = job.error_message ? 'The job failed: ' + job.error_message : '';
	renderParams();
	renderTimeline();
	renderActions();
	return renderResults();
}

// Only the answer to the latest call is shown (events can come in bursts).
let generation = 0;
async function load() {
	const mine = ++generation;
	try {
		const before = job && job.status;
		const fresh = await api('/api/pipelines/' + encodeURIComponent(id));
		if (mine !== generation) return;
		job = fresh;
		$('loading').classList.add('hidden');
		$('job').classList.remove('hidden');
		if (before && before !== job.status) announce(`The job is now ${job.status}`);
		await render();
	} catch (e) {
		if (mine !== generation) return;
		$('loading').classList.add('hidden');
		if (e instanceof ApiError && e.status === 404) {
			document.title = 'Job not found · zixly';
			$('job').classList.add('hidden');
			$('not-found').classList.remove('hidden');
			return;
		}
		$('loading').classList.remove('hidden');
		$('loading').textContent = 'The job could not be loaded: ' + e.message;
	}
}

async function act(action) {
	const box = $('action-error');
	box.classList.add('hidden');
	try {
		await api(`/api/pipelines/${encodeURIComponent(id)}/${action}`, { method: 'POST' });
		await load();
	} catch (e) {
		box.textContent = e.message;
		box.classList.remove('hidden');
	}
}

async function downloadCsv() {
	const box = $('action-error');
	box.classList.add('hidden');
	try {
		const blob = await api(`/api/pipelines/${encodeURIComponent(id)}/results?format=csv`, { csv: true });
		const url = URL.createObjectURL(blob);
		const a = h('a', { href: url, download: `${id}-results.csv`, class: 'hidden' });
		document.body.append(a);
		a.click();
		a.remove();
		setTimeout(() => URL.revokeObjectURL(url), 10000);
	} catch (e) {
		box.textContent = 'The download failed: ' + e.message;
		box.classList.remove('hidden');
	}
}

$('cancel').addEventListener('click', () => act('cancel'));
$('retry').addEventListener('click', () => act('retry'));
$('csv').addEventListener('click', downloadCsv);
$('heat-metric').addEventListener('change', () => {
	if (grid) heatmap();
});

await load();
if (job) {
	live({
		onEvent: (ev) => { if (ev.ids.includes(id)) load(); },
		resync: load,
		poll: () => (job && TERMINAL.includes(job.status) ? Promise.resolve() : load()),
	});
}
