// /dashboard/new: the form for a trading sweep (POST /api/pipelines).
// The API (the extension's validation) is the judge of the values: its
// field errors are shown next to the fields. The number of combinations
// is counted here as the extension counts it (fast < slow on the grid).
// Number fields are text fields read here: one that is not a number
// ("1e", "2,5") stops the submission with a message on that field, rather
// than being sent as nothing or as another number.
import { api, fmtInt, h, initHeader } from '/assets/common.js';

await initHeader();

const form = document.getElementById('sweep');
const combos = document.getElementById('combos');
const formError = document.getElementById('form-error');
const strategy = form.strategy_type;
const signalField = document.getElementById('signal-field');

// Where each API field's error goes, and what gets focus for it.
const FIELDS = {
	ticker: ['ticker'], strategy_type: ['strategy_type'],
	fast_range: ['fast_from', 'fast_to'], slow_range: ['slow_from', 'slow_to'],
	step: ['step'], min_trades: ['min_trades'], fee_bps: ['fee_bps'],
	signal_period: ['signal_period'], objective: ['objective'],
};

// A decimal number as JSON writes it (a dot for decimals, no separators).
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

// A number field's value: null when empty, NaN when it is not a number.
function num(input) {
	const s = input.value.trim();
	if (s === '') return null;
	return NUMBER.test(s) ? Number(s) : NaN;
}

// The fields whose text is not a number, as API-style details.
function unreadable() {
	const details = [];
	for (const [field, inputs] of Object.entries(FIELDS)) {
		if (field === 'signal_period' && strategy.value !== 'MACD') continue;
		for (const id of inputs) {
			const input = document.getElementById(id);
			if (input.tagName !== 'INPUT' || !Number.isNaN(num(input))) continue;
			const text = `"${input.value.trim()}"`;
			details.push({ field, message: id === 'fee_bps'
				? text + ' is not a number: use digits, and a dot for decimals (2.5).'
				: text + ' is not a whole number: use digits only.' });
			break;
		}
	}
	return details;
}

function countCombinations(flo, fhi, slo, shi, step) {
	if (![flo, fhi, slo, shi, step].every(Number.isInteger) || step < 1 || flo > fhi || slo > shi) return null;
	// Per fast value, the slow values above it (slo + k*step > f).
	const slowCount = Math.floor((shi - slo) / step) + 1;
	let n = 0;
	for (let f = flo; f <= fhi; f += step) {
		const firstK = f < slo ? 0 : Math.floor((f - slo) / step) + 1;
		if (firstK < slowCount) n += slowCount - firstK;
	}
	return n;
}

function updateCount() {
	const n = countCombinations(num(form.fast_from), num(form.fast_to), num(form.slow_from), num(form.slow_to), num(form.step));
	combos.dataset.count = n === null ? '' : String(n);
	if (n === null) combos.textContent = 'Combinations: enter whole numbers, from ≤ to.';
	else if (n === 0) combos.textContent = 'No combination has fast < slow.';
	else combos.textContent = fmtInt(n) + (n === 1 ? ' combination' : ' combinations') + ' to backtest';
}

function clearErrors() {
	formError.textContent = '';
	for (const [field, inputs] of Object.entries(FIELDS)) {
		document.getElementById(field + '-error').textContent = '';
		inputs.forEach((id) => document.getElementById(id).removeAttribute('aria-invalid'));
	}
}

function showErrors(err) {
	let first = null;
	const unplaced = [];
	for (const d of err.details) {
		const inputs = FIELDS[d.field];
		if (!inputs) { unplaced.push(d.field + ': ' + d.message); continue; }
		const box = document.getElementById(d.field + '-error');
		box.textContent = (box.textContent ? box.textContent + ' ' : '') + d.message;
		inputs.forEach((id) => document.getElementById(id).setAttribute('aria-invalid', 'true'));
		first = first || document.getElementById(inputs[0]);
	}
	formError.textContent = err.message + (unplaced.length ? ' (' + unplaced.join('; ') + ')' : '');
	(first || form.querySelector('button[type="submit"]')).focus();
}

function body() {
	const b = {
		ticker: form.ticker.value,
		strategy_type: strategy.value,
		fast_range: [num(form.fast_from), num(form.fast_to)],
		slow_range: [num(form.slow_from), num(form.slow_to)],
		step: num(form.step),
		objective: form.objective.value,
	};
	if (num(form.min_trades) !== null) b.min_trades = num(form.min_trades);
	if (num(form.fee_bps) !== null) b.fee_bps = num(form.fee_bps);
	if (strategy.value === 'MACD' && num(form.signal_period) !== null) b.signal_period = num(form.signal_period);
	return b;
}

async function loadTickers() {
	const select = form.ticker;
	try {
		const { tickers } = await api('/api/tickers');
		if (tickers.length === 0) {
			select.replaceChildren(h('option', { value: '' }, 'No prices loaded'));
			return;
		}
		select.replaceChildren(...tickers.map((t) => h('option', { value: t.ticker },
			`${t.ticker} — ${fmtInt(t.bars)} bars, ${t.first_date} to ${t.last_date}`)));
	} catch (e) {
		select.replaceChildren(h('option', { value: '' }, 'Tickers could not be loaded'));
		formError.textContent = e.message;
	}
}

strategy.addEventListener('change', () => signalField.classList.toggle('hidden', strategy.value !== 'MACD'));
form.addEventListener('input', updateCount);
form.addEventListener('submit', async (ev) => {
	ev.preventDefault();
	clearErrors();
	const bad = unreadable();
	if (bad.length > 0) {
		showErrors({ message: 'Some fields are not numbers; nothing was submitted.', details: bad });
		return;
	}
	const button = form.querySelector('button[type="submit"]');
	button.disabled = true;
	try {
		const job = await api('/api/pipelines', { method: 'POST', body: body() });
		location.assign('/dashboard?created=' + encodeURIComponent(job.job_id));
	} catch (e) {
		showErrors(e);
	} finally {
		button.disabled = false;
	}
});

updateCount();
loadTickers();
