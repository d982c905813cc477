// The heatmap of one metric over the fast × slow grid, as a table: fast
// periods are the columns, slow periods the rows, each cell coloured on a
// red–grey–blue scale (blue is better) and labelled with its value. The
// score is the job's objective: higher is better except for
// max_drawdown_pct, so its direction comes from the job.
import { fmtNum, h } from '/assets/common.js';

const METRICS = {
	score: { label: 'Score', decimals: 3, better: 1 },
	sharpe_ratio: { label: 'Sharpe ratio', decimals: 3, better: 1 },
	total_return_pct: { label: 'Total return (%)', decimals: 2, better: 1 },
	max_drawdown_pct: { label: 'Max. drawdown (%)', decimals: 2, better: -1 },
};
const BAD = [178, 24, 43], MID = [247, 247, 247], GOOD = [33, 102, 172];

// Grid rows from the results API, whichever name the periods go by.
const fastOf = (r) => r.fast_period ?? r.fast;
const slowOf = (r) => r.slow_period ?? r.slow;

function mix(a, b, t) {
	return a.map((x, i) => Math.round(x + (b[i] - x) * t));
}

// t in [-1, 1] (1 best) -> background and a text colour that reads on it.
function colours(t) {
	const rgb = t >= 0 ? mix(MID, GOOD, t) : mix(MID, BAD, -t);
	const lum = (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255;
	return { bg: `rgb(${rgb.join(',')})`, fg: lum > 0.55 ? '#111827' : '#ffffff' };
}

// Spreads values over [-1, 1]: around 0 when they straddle it, else min..max.
function scaler(values, better) {
	const lo = Math.min(...values), hi = Math.max(...values);
	return (v) => {
		let t;
		if (lo < 0 && hi > 0) t = v >= 0 ? v / hi : -v / lo;
		else t = hi > lo ? 2 * (v - lo) / (hi - lo) - 1 : 0;
		return t * better;
	};
}

// best: the rank-1 row (outlined); objective: the job's (ranks the score).
export function renderHeatmap(container, results, metric, best, objective) {
	const m = metric === 'score' && objective === 'max_drawdown_pct'
		? { ...METRICS.score, label: 'Score (max. drawdown %)', better: -1 } : METRICS[metric];
	const fasts = [...new Set(results.map(fastOf))].sort((a, b) => a - b);
	const slows = [...new Set(results.map(slowOf))].sort((a, b) => a - b);
	const cells = new Map(results.map((r) => [fastOf(r) + ':' + slowOf(r), r]));
	const values = results.map((r) => Number(r[metric])).filter(Number.isFinite);
	if (values.length === 0) {
		container.replaceChildren(h('p', { class: 'muted' }, 'No results to show.'));
		return;
	}
	const scale = scaler(values, m.better);
	const dense = fasts.length > 16;

	const head = h('tr', null, h('th', { scope: 'col', class: 'corner' }, 'slow ↓ fast →'),
		fasts.map((f) => h('th', { scope: 'col' }, String(f))));
	const rows = slows.map((s) => h('tr', null, h('th', { scope: 'row' }, String(s)), fasts.map((f) => {
		const r = cells.get(f + ':' + s);
		const v = r ? Number(r[metric]) : NaN;
		if (!r || !Number.isFinite(v)) return h('td', { class: 'none', 'data-fast': f, 'data-slow': s, title: `fast ${f}, slow ${s}: no result` });
		const text = fmtNum(v, m.decimals);
		const isBest = best && fastOf(best) === f && slowOf(best) === s;
		const td = h('td', {
			'data-fast': f, 'data-slow': s, 'data-value': r[metric],
			class: isBest ? 'best' : null,
			title: `fast ${f}, slow ${s}: ${m.label} ${text}${isBest ? ' (best)' : ''}`,
		}, dense ? h('span', { class: 'sr-only' }, text) : text);
		const c = colours(scale(v));
		td.style.backgroundColor = c.bg;
		td.style.color = c.fg;
		return td;
	})));
	const table = h('table', { class: 'heat' + (dense ? ' dense' : ''), id: 'heat' },
		h('caption', { class: 'sr-only' }, `${m.label} for each fast (columns) and slow (rows) period`),
		h('thead', null, head), h('tbody', null, rows));

	const lo = Math.min(...values), hi = Math.max(...values);
	const ramp = h('span', { class: 'ramp', 'aria-hidden': 'true' });
	const ends = m.better > 0 ? [colours(-1).bg, colours(1).bg] : [colours(1).bg, colours(-1).bg];
	ramp.style.background = `linear-gradient(to right, ${ends[0]}, rgb(${MID.join(',')}), ${ends[1]})`;
	container.replaceChildren(table,
		h('p', { class: 'heat-axes' }, `Columns: fast period (${fasts.length}); rows: slow period (${slows.length}); `
			+ `${fmtNum(results.length, 0)} combinations. Outlined: the best.`),
		h('div', { class: 'legend' }, h('span', null, fmtNum(lo, m.decimals)), ramp, h('span', null, fmtNum(hi, m.decimals)),
			h('span', { class: 'muted' }, m.better > 0 ? '(blue is better)' : '(lower is better: blue)')));
}
