// The best combination's equity curve against buy-and-hold (uPlot, loaded
// as a classic script before the modules). Both start at 1.
import { fmtNum } from '/assets/common.js';

// "1991-07-01", "1991-07-01 00:00:00+00" or ISO 8601 -> Unix seconds.
function seconds(d) {
	let s = String(d).trim().replace(' ', 'T');
	if (/^\d{4}-\d{2}-\d{2}$/.test(s)) s += 'T00:00:00Z';
	s = s.replace(/([+-]\d{2})$/, '$1:00');
	return Date.parse(s) / 1000;
}

// An equity multiple as a change: 1.25 -> "+25.00 %", 0.4758 -> "−52.42 %".
const pct = (v) => (v >= 1 ? '+' : '') + fmtNum((v - 1) * 100, 2) + ' %';

// The bars are daily closes at 00:00 UTC: dates are shown in UTC, whatever
// the viewer's time zone, and the legend shows the date alone.
const utc = (ts) => window.uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC');
const day = (u, ts) => (ts === null || ts === undefined ? '—' : new Date(ts * 1e3).toISOString().slice(0, 10));

export function renderEquity(el, summary, curve) {
	const xs = curve.dates.map(seconds);
	const last = (a) => a[a.length - 1];
	const strategyEnd = last(curve.strategy), holdEnd = last(curve.buy_and_hold);
	summary.replaceChildren(
		`Strategy: `, Object.assign(document.createElement('strong'), { id: 'equity-strategy', textContent: pct(strategyEnd) }),
		` · Buy and hold: `, Object.assign(document.createElement('strong'), { id: 'equity-hold', textContent: pct(holdEnd) }),
		` · ${curve.dates[0]} to ${last(curve.dates)}, ${fmtNum(xs.length, 0)} points.`);
	el.setAttribute('aria-label', `Equity curve: the strategy ends at ${pct(strategyEnd)}, buy and hold at ${pct(holdEnd)}.`);

	const value = (u, v) => (v === null || v === undefined ? '—' : fmtNum(v, 3));
	const opts = {
		width: Math.max(280, el.clientWidth),
		height: 320,
		scales: { x: { time: true } },
		tzDate: utc,
		series: [
			{ label: 'Date', value: day },
			{ label: 'Strategy', stroke: '#1d4ed8', width: 2, value },
			{ label: 'Buy and hold', stroke: '#b45309', width: 2, dash: [6, 4], value },
		],
		axes: [
			{ stroke: '#374151' },
			{ stroke: '#374151', size: 60, values: (u, vals) => vals.map((v) => fmtNum(v, 2)) },
		],
		legend: { live: true },
	};
	el.replaceChildren();
	const plot = new window.uPlot(opts, [xs, curve.strategy, curve.buy_and_hold], el);
	new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height: 320 })).observe(el);
}
