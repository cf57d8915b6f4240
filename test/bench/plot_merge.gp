# test/bench/plot_merge.gp: the merge chart of results.md, from the .dat
# files that report_merge.sql writes.
# Usage: gnuplot -e "datdir='DIR'; outdir='DIR'" plot_merge.gp
set terminal pngcairo noenhanced size 1200,950 font "sans,10"
set output outdir.'/merge.png'
set datafile separator "\t"
set datafile missing "NaN"
set grid ytics
set key outside right top
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set format y "%g"
set ylabel "CPU µs per call (log scale)"
set multiplot layout 2,1 title "Root merge of a 3-key patch: CPU µs per call, median, loop cost subtracted; lower is better"
set title "values in memory"
plot for [i=2:*] datdir.'/merge_mem.dat' using i:xtic(1) title columnheader(i)
set title "stored values read from a table (detoasting included)"
plot for [i=2:*] datdir.'/merge_table.dat' using i:xtic(1) title columnheader(i)
unset multiplot

