# memory.gp: a worker's RSS against the idle connections it holds.
# datafile columns: connections rss_kib.
# Variables (gnuplot -e): datafile, out, title.
set terminal pngcairo size 800,520 noenhanced font "sans,10"
set output out
set title title
set xlabel "idle keep-alive connections"
set ylabel "worker RSS (KiB)"
set grid
set key top left
set yrange [0:*]
plot datafile using 1:2 with linespoints lw 2 pt 7 title "worker RSS"
