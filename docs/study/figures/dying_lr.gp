# dying_lr: Dead units at the end against learning rate
# Written by relulab. Re-draw with `gnuplot dying_lr.gp` in this directory; the numbers are
# in ../data/dying_lr.csv (columns x, y, low, high, series; one block per series).
outdir = exists('outdir') ? outdir : '.'
data = '../data/dying_lr.csv'
set datafile separator comma
set title "Dead units at the end against learning rate" font ',15'
set xlabel "learning rate"
set ylabel "dead fraction"
set autoscale xfix
set border 3 lc rgb '#404040'
set tics nomirror
set style line 100 lc rgb '#d0d0d0' lw 1 dt solid
set style line 101 lc rgb '#ececec' lw 1 dt solid
set grid xtics ytics mxtics ls 100, ls 101
set key outside right top Left reverse samplen 2.5 spacing 1.15 width -2
set style fill transparent solid 0.2 noborder
set logscale x
set linetype 1 lc rgb '#0072B2' lw 2
set linetype 2 lc rgb '#D55E00' lw 2
set linetype 3 lc rgb '#009E73' lw 2
set linetype 4 lc rgb '#CC79A7' lw 2
set linetype 5 lc rgb '#E69F00' lw 2
set linetype 6 lc rgb '#56B4E9' lw 2
set linetype 7 lc rgb '#000000' lw 2
set linetype 8 lc rgb '#999999' lw 2

set terminal svg size 900,560 dynamic noenhanced font 'sans,14' background rgb 'white'
set output outdir.'/dying_lr.svg'
plot data index 0 using 1:3:4 with filledcurves lt 1 notitle, \
  data index 2 using 1:3:4 with filledcurves lt 3 notitle, \
  data index 4 using 1:3:4 with filledcurves lt 5 notitle, \
  data index 6 using 1:3:4 with filledcurves lt 7 notitle, \
  data index 0 using 1:2 with linespoints pt 7 ps 0.6 lt 1 dt 1 title "relu", \
  data index 1 using 1:2 with points pt 6 ps 1.2 lt 2 dt 1 title "relu (diverged)", \
  data index 2 using 1:2 with linespoints pt 7 ps 0.6 lt 3 dt 1 title "leaky_relu", \
  data index 3 using 1:2 with points pt 6 ps 1.2 lt 4 dt 1 title "leaky_relu (diverged)", \
  data index 4 using 1:2 with linespoints pt 7 ps 0.6 lt 5 dt 1 title "elu", \
  data index 5 using 1:2 with points pt 6 ps 1.2 lt 6 dt 1 title "elu (diverged)", \
  data index 6 using 1:2 with linespoints pt 7 ps 0.6 lt 7 dt 1 title "gelu", \
  data index 7 using 1:2 with points pt 6 ps 1.2 lt 8 dt 1 title "gelu (diverged)"
set terminal pngcairo size 900,560 noenhanced font 'sans,12' background rgb 'white'
set output outdir.'/dying_lr.png'
replot
set output
