# timeline.gp: one horizontal bar per request, from its start to its end (seed 002).
# datafile columns: row start_s end_s group (an integer that picks the colour).
# Variables (gnuplot -e): datafile, out, title, yticsdef (a "set ytics (...)" command),
# rows (the number of rows, blank separators included).
set terminal pngcairo size 1000,620 noenhanced font "sans,10"
set output out
set title title
set xlabel "seconds since the requests were released"
set grid xtics
set key off
eval yticsdef
set yrange [rows:-1]          # first group at the top
set xrange [0:*]
plot datafile using 2:1:($3-$2):(0):4 with vectors nohead lw 5 lc variable
