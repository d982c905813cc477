// /dashboard: the tenant's recent jobs, newest first, with a status filter
// and cursor paging (GET /api/pipelines). Rows follow status changes live.
import {
	api, announce, fmtDuration, fmtRatio, fmtTime, h, initHeader, jobDuration,
	live, shortId, statusBadge,
} from '/assets/common.js';

await initHeader();

const PAGE = 20;
const tbody = document.querySelector('#jobs tbody');
const filter = document.getElementById('status-filter');
const newer = document.getElementById('newer');
const older = document.getElementById('older');
const errorBox = document.getElementById('error');
const empty = document.getElementById('empty');

// Where we are: the filter, this page's cursor, the cursors of the pages
// before it, and the next page's cursor (from the API).
const params = new URLSearchParams(location.search);
let state = {
	status: params.get('status') || '',
	cursor: null,
	before: [],
};
let nextCursor = null;
const created = params.get('created');

// Rows flash when they first show or change status, which is also said aloud.
let shownStatus = new Map();

function row(job) {
	const p = job.parameters || {};
	const best = (job.top_results || []).find((r) => r.rank >= 1);	// rank 1 (rank order)
	const tr = h('tr', { 'data-id': job.id, 'data-status': job.status },
		h('td', { 'data-label': 'Job' }, h('a', { href: '/dashboard/jobs/' + job.id, class: 'mono', title: job.id }, shortId(job.id))),
		h('td', { 'data-label': 'Status' }, statusBadge(job.status)),
		h('td', { 'data-label': 'Ticker' }, p.ticker || '—'),
		h('td', { 'data-label': 'Strategy' }, p.strategy_type || job.job_type),
		h('td', { 'data-label': 'Created' }, fmtTime(job.created_at)),
		h('td', { 'data-label': 'Duration', class: 'num' }, fmtDuration(jobDuration(job))),
		h('td', { 'data-label': 'Best score', class: 'num' }, best ? fmtRatio(best.score) : '—'));
	const before = shownStatus.get(job.id);
	if (before && before !== job.status) {
		tr.classList.add('flash');
		announce(`Job ${shortId(job.id)} is now ${job.status}`);
	} else if (!before && job.id === created) {
		tr.classList.add('flash');
	}
	return tr;
}

// Loads this page of jobs. Only the answer to the latest call is shown, so
// an older answer arriving late never undoes a newer one.
let generation = 0;
async function load() {
	const mine = ++generation;
	const q = new URLSearchParams({ limit: PAGE });
	if (state.status) q.set('status', state.status);
	if (state.cursor) q.set('cursor', state.cursor);
	try {
		const data = await api('/api/pipelines?' + q);
		if (mine !== generation) return;
		tbody.replaceChildren(...data.jobs.map(row));
		shownStatus = new Map(data.jobs.map((j) => [j.id, j.status]));
		nextCursor = data.next_cursor;
		empty.classList.toggle('hidden', data.jobs.length > 0);
		errorBox.classList.add('hidden');
	} catch (e) {
		if (mine !== generation) return;
		errorBox.textContent = 'Jobs could not be loaded: ' + e.message;
		errorBox.classList.remove('hidden');
	}
	older.disabled = !nextCursor;
	newer.disabled = state.before.length === 0;
}

function go(next, push) {
	state = next;
	const q = new URLSearchParams();
	if (state.status) q.set('status', state.status);
	const url = '/dashboard' + (q.toString() ? '?' + q : '');
	if (push) history.pushState(state, '', url);
	else history.replaceState(state, '', url);
	return load();
}

filter.value = state.status;
filter.addEventListener('change', () => go({ status: filter.value, cursor: null, before: [] }, false));
older.addEventListener('click', () => {
	if (nextCursor) go({ status: state.status, cursor: nextCursor, before: [...state.before, state.cursor] }, true);
});
newer.addEventListener('click', () => {
	const before = state.before.slice();
	const cursor = before.pop();
	go({ status: state.status, cursor: cursor === undefined ? null : cursor, before }, true);
});
window.addEventListener('popstate', (ev) => {
	if (!ev.state) return;
	state = ev.state;
	filter.value = state.status;
	load();
});

// Jobs changed: the page is loaded again if it shows one of them, or if it
// is the first page, where new jobs appear: 200 ms after the last event
// (once for a burst), but never later than 1 s after the first one still
// waiting, so a steady stream of events still refreshes it every second.
const QUIET_MS = 200, MAX_WAIT_MS = 1000;
let reloadTimer = null, firstPending = 0;
function onEvent(ev) {
	const shown = ev.ids.some((id) => shownStatus.has(id));
	if (!shown && state.cursor) return;
	const now = Date.now();
	if (reloadTimer === null) firstPending = now;
	clearTimeout(reloadTimer);
	reloadTimer = setTimeout(() => {
		reloadTimer = null;
		load();
	}, Math.max(0, Math.min(QUIET_MS, firstPending + MAX_WAIT_MS - now)));
}

history.replaceState(state, '', location.pathname + location.search);
load();
live({ onEvent, resync: load, poll: load });
