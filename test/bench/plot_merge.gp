# test/bench/plot_merge.gp: the merge chart of results.md, from the .dat
# files that report_merge.sql writes.  Draws whatever the run produced: a
# value that is not positive (NaN, or below zero after the loop cost is
# subtracted, as in smoke runs) has no bar, and a panel with none says so.
# Usage: gnuplot -e "datdir='DIR'; outdir='DIR'" plot_merge.gp
here = ARG0[1:strstrt(ARG0, 'plot_merge.gp') - 1]
set terminal pngcairo noenhanced size 1200,950 font "sans,10"
set output outdir.'/merge.png'
set datafile separator "\t"
set grid ytics
set key outside right top
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set format y "%g"
set ylabel "CPU µs per call (log scale)"
set multiplot layout 2,1 title "Root merge of a 3-key patch: CPU µs per call, median, loop cost subtracted; lower is better"
do for [part in "mem table"] {
	file = datdir.'/merge_'.part.'.dat'
	call here.'plot_range.gp' file 0
	set title (part eq "mem" ? "values in memory" : "stored values read from a table (detoasting included)")
	set xrange [-0.5 : (nrow > 0 ? nrow : 1) - 0.5]
	set yrange [lo / 2 : hi * 2]
	if (none) { set label 1 "no positive value in this run" at graph 0.5, 0.5 center } else { unset label 1 }
	plot for [i = 2:ncol] file using (usable(column(i)) ? column(i) : NaN):xtic(1) title columnheader(i)
}
unset multiplot
