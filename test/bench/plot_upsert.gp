# test/bench/plot_upsert.gp: the upsert chart of results.md, from the .dat
# files that report_upsert.sql writes.
# Usage: gnuplot -e "datdir='DIR'; outdir='DIR'; users='10,000'" plot_upsert.gp
set terminal pngcairo noenhanced size 1200,500 font "sans,10"
set output outdir.'/upsert.png'
set datafile separator "\t"
set grid ytics
set logscale x 2
set xrange [0.8:20]
set yrange [0:*]
set format y "%.0f"
set xlabel "clients (pgbench -j 2, TCP 127.0.0.1)"
set ylabel "transactions per second"
set key below
set bmargin 9			# room under the x label for the key
set multiplot layout 1,2 title "Upsert of a 3-key patch into 2 KB documents: median TPS, higher is better"
set title users." users, uniform"
plot for [i=2:*] datdir.'/upsert_uniform.dat' using 1:i:xtic(1) with linespoints lw 2 pt 7 title columnheader(i)
set title "one hot user"
plot for [i=2:*] datdir.'/upsert_hot.dat' using 1:i:xtic(1) with linespoints lw 2 pt 7 title columnheader(i)
unset multiplot
