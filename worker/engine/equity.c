/*
 * equity.c — zx_equity_curve: the equity of one combination bar by bar (DESIGN.md's recurrence,
 * not the per-trade shortcut of backtest.c) and buy-and-hold, downsampled for a chart.
 */
#include <math.h>
#include <stdlib.h>

#include "engine.h"

int
zx_equity_curve(const double *close, size_t n, const struct zx_sweep_params *p, int fast,
    int slow, double *out_equity, double *out_bh, size_t *out_idx, size_t max_points,
    size_t *out_len, char *err, size_t errlen)
{
	struct zx_sweep_params q;

	if (close == NULL || p == NULL || out_equity == NULL || out_idx == NULL || out_len == NULL)
		return zx_fail(err, errlen, "missing argument");
	if (max_points < 2)
		return zx_fail(err, errlen, "max_points must be at least 2");
	if (fast < 1 || slow <= fast)
		return zx_fail(err, errlen, "need 1 <= fast < slow, got fast=%d slow=%d", fast, slow);
	/* Same checks as a sweep whose grid is this one combination. */
	q = *p;
	q.fast_lo = q.fast_hi = fast;
	q.slow_lo = q.slow_hi = slow;
	q.step = 1;
	q.threads = 1;
	if (zx_sweep_params_check(&q, n, NULL, err, errlen) < 0)
		return -1;
	for (size_t t = 0; t < n; t++)
		if (!(isfinite(close[t]) && close[t] > 0))
			return zx_fail(err, errlen, "close[%zu] = %g is not a positive finite number",
			    t, close[t]);

	double *buf = malloc(5 * n * sizeof(double));
	uint64_t *bits = malloc(2 * zx_words(n) * sizeof(uint64_t));
	struct zx_trade *tr = malloc((n / 2 + 2) * sizeof(*tr));

	if (buf == NULL || bits == NULL || tr == NULL) {
		free(buf);
		free(bits);
		free(tr);
		return zx_fail(err, errlen, "out of memory");
	}
	double *a = buf, *b = buf + n, *line = buf + 2 * n, *signal = buf + 3 * n;
	double *eq = buf + 4 * n;
	size_t start = zx_lines_start(q.strategy, slow, q.signal_period);
	int rc = 0;

	if (q.strategy == ZX_STRATEGY_SMA) {
		rc = zx_sma(close, n, fast, a) | zx_sma(close, n, slow, b);
	} else {
		zx_ema(close, n, fast, a);
		zx_ema(close, n, slow, b);
		if (q.strategy == ZX_STRATEGY_MACD) {
			zx_macd(a, b, n, slow, q.signal_period, line, signal);
			a = line;
			b = signal;
		}
	}
	if (rc == 0) {
		zx_cross_events(zx_cmp_kernel_select(), a, b, n, start, bits, bits + zx_words(n));
		size_t nt = zx_trades_from_events(bits, bits + zx_words(n), n, start, tr);

		zx_equity_bars(close, n, tr, nt, q.fee_bps / 1e4, eq);

		size_t m = n < max_points ? n : max_points;

		for (size_t k = 0; k < m; k++) {
			size_t t = (size_t)((unsigned long long)k * (n - 1) / (m - 1));

			out_idx[k] = t;
			out_equity[k] = eq[t];
			if (out_bh != NULL)
				out_bh[k] = close[t] / close[0];
		}
		*out_len = m;
	}
	free(buf);
	free(bits);
	free(tr);
	if (rc != 0)
		return zx_fail(err, errlen, "out of memory");
	return 0;
}
