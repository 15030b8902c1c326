# latency_time.gp: each request's latency against when it started (the hog scenario).
# datafile columns: start_s latency_ms case (an integer that picks the colour; one
# block per case, separated by two blank lines). Variables (gnuplot -e): datafile,
# out, title, titles (space-separated case names, underscores for spaces), hog_at.
set terminal pngcairo size 1000,620 noenhanced font "sans,10"
set output out
set title title
set xlabel "seconds since the load started (the hog is sent at the dashed line)"
set ylabel "request latency, ms (log scale)"
set logscale y
set grid
set key outside right
set arrow from hog_at, graph 0 to hog_at, graph 1 nohead dt 2
plot for [i=0:words(titles)-1] datafile index i using 1:2 with points pt 7 ps 0.4 title word(titles, i+1)
