// What every dashboard page shares: the login session, calls to the JSON
// API, number and date formats, a small DOM builder, and live updates
// (WebSocket /api/live, polling while it is down).

const SESSION_KEY = 'zixly.session';

export function session() {
	try {
		const s = JSON.parse(localStorage.getItem(SESSION_KEY));
		if (s && s.token && Date.parse(s.expires_at) > Date.now() + 5000)
			return s;
	} catch (e) { /* no or broken session: log in again */ }
	return null;
}

export function saveSession(login) {
	localStorage.setItem(SESSION_KEY, JSON.stringify({
		token: login.token, expires_at: login.expires_at,
		email: login.user.email, tenant_id: login.user.tenant_id,
	}));
}

// /login, and back to this page after logging in again.
const loginHere = () => '/login?next=' + encodeURIComponent(location.pathname + location.search);

// The log-out button: to /login.
function logout() {
	localStorage.removeItem(SESSION_KEY);
	location.assign('/login');
}

// The session ended (expired, or the API refused its token): to /login,
// and back to this page afterwards.
function sessionEnded() {
	localStorage.removeItem(SESSION_KEY);
	location.assign(loginHere());
}

// The session; without one, off to /login (back here afterwards) and a
// promise that never settles, so a page's script stops where it awaits it.
function loggedIn() {
	const s = session();
	if (s) return Promise.resolve(s);
	location.replace(loginHere());
	return new Promise(() => {});
}

export class ApiError extends Error {
	constructor(status, body) {
		super(body && body.message ? body.message : 'HTTP ' + status);
		this.status = status;
		this.code = body && body.error;
		this.details = (body && Array.isArray(body.details)) ? body.details : [];
	}
}

// One API call with the login token. JSON in and out; {csv: true} gives a Blob.
export async function api(path, { method = 'GET', body, csv = false } = {}) {
	const s = session();
	if (!s) {
		sessionEnded();
		throw new ApiError(401, { error: 'unauthorized', message: 'Your session has ended. Log in again.' });
	}
	const headers = { Authorization: 'Bearer ' + s.token };
	if (body !== undefined) headers['Content-Type'] = 'application/json';
	if (csv) headers.Accept = 'text/csv';
	let res;
	try {
		res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
	} catch (e) {
		throw new ApiError(0, { error: 'network', message: 'The server cannot be reached. Check the connection and try again.' });
	}
	if (res.status === 401) {
		sessionEnded();
		throw new ApiError(401, { error: 'unauthorized', message: 'Your session has ended. Log in again.' });
	}
	if (res.ok && csv) return res.blob();
	let data = null;
	try { data = await res.json(); } catch (e) { /* not JSON */ }
	if (!res.ok) throw new ApiError(res.status, data);
	return data;
}

// ------------------------------------------------------------ formats
const formats = new Map();
function numberFormat(decimals) {
	if (!formats.has(decimals)) {
		formats.set(decimals, new Intl.NumberFormat('en-US', {
			minimumFractionDigits: decimals, maximumFractionDigits: decimals,
		}));
	}
	return formats.get(decimals);
}

// Fixed decimals and thousands separators; '—' for none, NaN as such.
export function fmtNum(v, decimals = 2) {
	if (v === null || v === undefined || v === '') return '—';
	const n = Number(v);
	if (Number.isNaN(n)) return 'NaN';
	if (!Number.isFinite(n)) return n > 0 ? '∞' : '−∞';
	return numberFormat(decimals).format(n).replace(/^-/, '−');
}
export const fmtInt = (v) => fmtNum(v, 0);
export const fmtRatio = (v) => fmtNum(v, 3);
export const fmtPct = (v) => (v === null || v === undefined ? '—' : fmtNum(v, 2) + ' %');

// "2025-01-27T10:30:05.123Z" -> "2025-01-27 10:30:05 UTC"
export function fmtTime(iso) {
	if (!iso) return '—';
	return iso.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');
}

export function fmtDuration(seconds) {
	if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
	if (seconds < 60) return fmtNum(seconds, seconds < 10 ? 2 : 1) + ' s';
	const s = Math.round(seconds);
	if (s < 3600) return Math.floor(s / 60) + ' min ' + String(s % 60).padStart(2, '0') + ' s';
	return Math.floor(s / 3600) + ' h ' + String(Math.floor(s / 60) % 60).padStart(2, '0') + ' min';
}

// Seconds a job ran (or has been running), or null.
export function jobDuration(job) {
	if (!job.started_at) return null;
	const end = job.completed_at ? Date.parse(job.completed_at) : Date.now();
	return Math.max(0, (end - Date.parse(job.started_at)) / 1000);
}

export const shortId = (id) => id.length > 12 ? id.slice(0, 12) + '…' : id;

// ------------------------------------------------------------ DOM
// h('a', {href: '/x', class: 'c'}, 'text', child): text is never parsed as HTML.
export function h(tag, attrs, ...children) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false) continue;
		if (k === 'class') e.className = v;
		else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
		else e.setAttribute(k, v === true ? '' : String(v));
	}
	for (const c of children.flat()) {
		if (c === null || c === undefined || c === false) continue;
		e.append(c instanceof Node ? c : String(c));
	}
	return e;
}

export function statusBadge(status) {
	return h('span', { class: 'status', 'data-status': status }, status);
}

// Says something to screen readers (the page's aria-live region).
export function announce(text) {
	const el = document.getElementById('announce');
	if (el) el.textContent = text;
}

// The header: who is logged in, and the log-out button. Waits for a login.
export async function initHeader() {
	const s = await loggedIn();
	document.getElementById('who').textContent = s.email;
	document.getElementById('logout').addEventListener('click', logout);
	return s;
}

// ------------------------------------------------------------ live updates
// Job events pushed over /api/live; while that is not up, poll() runs every
// pollMs. resync() runs whenever the push connection (re)starts, since
// events may have been missed. The element #live shows the state.
export function live({ onEvent, resync, poll, pollMs = 4000 }) {
	const badge = document.getElementById('live');
	let ws = null, pollTimer = null, retryTimer = null, readyTimer = null, backoff = 1000;

	const show = (state, text) => {
		if (!badge) return;
		badge.dataset.state = state;
		badge.textContent = text;
	};
	const startPolling = () => {
		show('polling', 'Updates every ' + Math.round(pollMs / 1000) + ' s');
		if (!pollTimer) pollTimer = setInterval(() => { poll().catch(() => {}); }, pollMs);
	};
	const stopPolling = () => { clearInterval(pollTimer); pollTimer = null; };
	const connect = () => {
		const s = session();
		if (!s) { sessionEnded(); return; }
		const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/live';
		try {
			ws = new WebSocket(url, ['zixly-live', s.token]);
		} catch (e) {
			startPolling();
			return;
		}
		// No "ready" in time: poll meanwhile.
		readyTimer = setTimeout(startPolling, 5000);
		ws.onmessage = (m) => {
			let msg;
			try { msg = JSON.parse(m.data); } catch (e) { return; }
			if (msg.type === 'ready') {
				clearTimeout(readyTimer);
				backoff = 1000;
				stopPolling();
				show('live', 'Live');
				resync().catch(() => {});
			} else if (msg.type === 'lost') {
				startPolling();
			} else if (msg.type === 'jobs' && Array.isArray(msg.ids)) {
				onEvent(msg);
			}
		};
		ws.onclose = (ev) => {
			clearTimeout(readyTimer);
			ws = null;
			if (ev.code === 4001) { sessionEnded(); return; }
			startPolling();
			retryTimer = setTimeout(connect, backoff);
			backoff = Math.min(backoff * 2, 30000);
		};
	};
	show('connecting', 'Connecting…');
	connect();
}
