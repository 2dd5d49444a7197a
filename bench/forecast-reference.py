"""bench:forecast-reference, the Python half: established forecasters from outside the project on the pipeline's
own rolling origins. Reads the series and origins bench/forecast-reference.mjs wrote, writes each model's MAE.

Models, each forecasting the next H points from the history before an origin (missing points carried forward):
  auto-ets    statsforecast AutoETS, non-seasonal (at the lead time a season is hundreds of points), on the
              last 1,000 points;
  auto-arima  statsforecast AutoARIMA, non-seasonal, on the same points;
  lightgbm    a LightGBM regression (L1 loss) of the change y[t+h] - y[t] on the last 12 one-step changes, the
              gaps to the means of the last 3, 6, 12 and 48 points, the same change a day and a week earlier
              and the gap to the value a day and a week before the target, the time of day and the level;
              one model per h, trained on at most 4,032 rows before the origin, retrained every 6 origins.
Usage: python forecast-reference.py IN.json OUT.json
"""
import json
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")
import lightgbm as lgb  # noqa: E402
from statsforecast.models import AutoARIMA, AutoETS  # noqa: E402

LAGS = 12
MEANS = (3, 6, 12, 48)
ROWS = 4032
RETRAIN = 6
STAT_POINTS = 1000
GBM = dict(objective="l1", learning_rate=0.05, num_leaves=15, min_data_in_leaf=20, bagging_fraction=0.8,
           bagging_freq=1, feature_fraction=0.8, verbose=-1, seed=1, num_threads=1, deterministic=True)
ROUNDS = 200


def carried(values):
    """Missing points carried forward (leading ones back from the first value)."""
    y = np.array([np.nan if v is None else v for v in values], dtype=float)
    seen = np.flatnonzero(~np.isnan(y))
    if len(seen) == 0:
        return y, ~np.isnan(y)
    observed = ~np.isnan(y)
    idx = np.where(observed, np.arange(len(y)), 0)
    np.maximum.accumulate(idx, out=idx)
    y = y[idx]
    y[: seen[0]] = y[seen[0]]
    return y, observed


def at_or_nan(y, i):
    return np.where(i >= 0, y[np.clip(i, 0, None)], np.nan)


def features(y, ts, h, day, week):
    """Rows for last-history indices ts, the change h points ahead."""
    cols = [at_or_nan(y, ts - k) - at_or_nan(y, ts - k - 1) for k in range(LAGS)]
    for w in MEANS:
        window = ts[:, None] - np.arange(w)[None, :]
        cols.append(y[ts] - np.nanmean(at_or_nan(y, window), axis=1))
    for p in (day, week):
        if p:
            cols.append(at_or_nan(y, ts + h - p) - at_or_nan(y, ts - p))
            cols.append(at_or_nan(y, ts + h - p) - y[ts])
    if day:
        cols.append((ts % day) / day)
    cols.append(y[ts])
    return np.column_stack(cols)


def lightgbm_forecasts(s, y, observed):
    H, day = s["horizon"], s["perDay"]
    week = 7 * day if day and len(y) > 8 * day else 0
    models, out = {}, []
    for i, at in enumerate(s["origins"]):
        if i % RETRAIN == 0:
            lo = max(LAGS + 1, at - min(s["maxHistory"], ROWS))
            for h in range(1, H + 1):
                ts = np.arange(lo, at - h)
                ts = ts[observed[ts + h]]
                data = lgb.Dataset(features(y, ts, h, day, week), y[ts + h] - y[ts])
                models[h] = lgb.train(GBM, data, num_boost_round=ROUNDS)
        last = np.array([at - 1])
        out.append([y[at - 1] + models[h].predict(features(y, last, h, day, week))[0] for h in range(1, H + 1)])
    return out


def statsforecast_forecasts(make, s, y):
    out = []
    for at in s["origins"]:
        history = y[max(0, at - STAT_POINTS):at]
        out.append(list(make().forecast(y=history, h=s["horizon"])["mean"]))
    return out


def mae(s, raw, forecasts):
    total, points = 0.0, 0
    for at, f in zip(s["origins"], forecasts):
        for h in range(s["horizon"]):
            v = raw[at + h]
            if v is not None:
                total += abs(v - f[h])
                points += 1
    return total / points if points else float("nan")


def main():
    series = json.load(open(sys.argv[1]))
    results = {}
    for s in series:
        started = time.time()
        y, observed = carried(s["values"])
        row = {}
        for name, run in (
            ("auto-ets", lambda: statsforecast_forecasts(lambda: AutoETS(season_length=1), s, y)),
            ("auto-arima", lambda: statsforecast_forecasts(lambda: AutoARIMA(season_length=1), s, y)),
            ("lightgbm", lambda: lightgbm_forecasts(s, y, observed)),
        ):
            try:
                row[name] = mae(s, s["values"], run())
            except Exception as e:  # a model that cannot fit a series is reported, not fatal
                row[name] = {"error": f"{type(e).__name__}: {e}"}
        results[s["name"]] = row
        print(f"{s['name']}: {time.time() - started:.1f} s", file=sys.stderr, flush=True)
    json.dump(results, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
