# percentiles.gp: latency percentile curves from `ab -e` CSV files (seed 000's graphs).
# Each file: "Percentage served,Time in ms", then rows 0..100.
# Variables (gnuplot -e): files and titles (space-separated lists of the same
# length, titles without spaces), out, title.
set terminal pngcairo size 900,560 noenhanced font "sans,10"
set output out
set title title
set datafile separator ","
set xlabel "percentage of requests served within"
set ylabel "latency (ms, log scale)"
set logscale y
set grid
set key bottom right
set xrange [0:100]
plot for [i=1:words(files)] word(files, i) every ::1 using 1:2 with lines lw 2 title word(titles, i)
