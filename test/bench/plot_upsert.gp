# test/bench/plot_upsert.gp: the upsert chart of results.md, from the .dat
# files that report_upsert.sql writes.  Draws whatever the run produced: a
# missing or negative value has no point, a panel with none says so.
# Usage: gnuplot -e "datdir='DIR'; outdir='DIR'; users='10,000'" plot_upsert.gp
here = ARG0[1:strstrt(ARG0, 'plot_upsert.gp') - 1]
set terminal pngcairo noenhanced size 1200,500 font "sans,10"
set output outdir.'/upsert.png'
set datafile separator "\t"
set grid ytics
set logscale x 2
set format y "%.0f"
set xlabel "clients (pgbench -j 2, TCP 127.0.0.1)"
set ylabel "transactions per second"
set key below
set bmargin 9			# room under the x label for the key
set multiplot layout 1,2 title "Upsert of a 3-key patch into 2 KB documents: median TPS, higher is better"
do for [part in "uniform hot"] {
	file = datdir.'/upsert_'.part.'.dat'
	call here.'plot_range.gp' file "-1"
	set title (part eq "uniform" ? users." users, uniform" : "one hot user")
	set xrange [0.8:20]
	set yrange [0 : (hi > 0 ? hi * 1.1 : 1)]
	if (none) { set label 1 "no value in this run" at graph 0.5, 0.5 center } else { unset label 1 }
	plot for [i = 2:ncol] file using 1:(usable(column(i)) ? column(i) : NaN):xtic(1) \
		with linespoints lw 2 pt 7 title columnheader(i)
}
unset multiplot
