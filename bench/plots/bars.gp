# bars.gp: clustered bar chart of one whitespace-separated table.
# Row 1 holds the series names ("label" then one per column); each later row a
# group: a quoted label, then one value per series (0 or NaN: no bar).
# Variables (gnuplot -e): datafile, out, title, ylabel, ncols, logscale (0|1),
# ymin (the bottom of a log scale: bars start there).
set terminal pngcairo size 1100,600 noenhanced font "sans,10"
set output out
set title title
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel ylabel
set grid ytics
set key outside right top
set xtics rotate by -20 nomirror
set datafile missing "NaN"
if (logscale) { set logscale y; set yrange [ymin:*] } else { set yrange [0:*] }
plot for [i=2:ncols] datafile using i:xtic(1) title columnheader(i)
