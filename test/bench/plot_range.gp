# test/bench/plot_range.gp: what a chart needs to draw whatever numbers a run
# produced (a smoke run's loop-cost subtraction can leave a series, or all
# of them, NaN or negative): the charts set their ranges from these instead
# of autoscaling, which aborts gnuplot when no point is valid.
# Usage: call 'plot_range.gp' FILE MIN_EXCLUSIVE, for a .dat file of
# report_*.sql (a header line, then a label and one value per contender).
# Sets nrow (data lines), ncol (columns), lo and hi (the smallest and the
# largest value above MIN_EXCLUSIVE, NaN excluded) and none (1 when there is
# no such value: lo = 1, hi = 10); usable(v) tells a value that counts.
set datafile missing		# "NaN" parses as NaN; usable() skips it
set xrange [*:*]		# stats skips points outside the ranges set
set yrange [*:*]
stats ARG1 using (1) nooutput
nrow = STATS_records - 1
ncol = STATS_columns
floor = ARG2 + 0
usable(v) = (v == v && v > floor && abs(v) < 1e300)
lo = 1e300
hi = -1e300
# every value of every row, through side effects of an expression whose
# own value is always 1
stats ARG1 using (sum [i = 2:ncol] (v = column(i), usable(v) ? (lo = (v < lo ? v : lo), hi = (v > hi ? v : hi), 0) : 0) + 1) nooutput
none = (hi < lo)
if (none) { lo = 1; hi = 10 }
set datafile missing "NaN"
