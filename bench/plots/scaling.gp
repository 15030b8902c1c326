# scaling.gp: requests/s against the number of workers, with the ideal line.
# datafile columns: workers measured_rps ideal_rps.
# Variables (gnuplot -e): datafile, out, title.
set terminal pngcairo size 800,520 noenhanced font "sans,10"
set output out
set title title
set xlabel "workers"
set ylabel "requests/s"
set grid
set key top left
set xtics 1
set yrange [0:*]
plot datafile using 1:3 with lines dt 2 lw 2 title "ideal", \
     datafile using 1:2 with linespoints lw 2 pt 7 title "measured"
