# born_dead: Fraction of ReLU nets dead at initialisation (dashed: theory)
# Written by relulab. Re-draw with `gnuplot born_dead.gp` in this directory; the numbers are
# in ../data/born_dead.csv (columns x, y, low, high, series; one block per series).
outdir = exists('outdir') ? outdir : '.'
data = '../data/born_dead.csv'
set datafile separator comma
set title "Fraction of ReLU nets dead at initialisation (dashed: theory)" font ',15'
set xlabel "depth"
set ylabel "fraction born dead"
set autoscale xfix
set border 3 lc rgb '#404040'
set tics nomirror
set style line 100 lc rgb '#d0d0d0' lw 1 dt solid
set style line 101 lc rgb '#ececec' lw 1 dt solid
set grid xtics ytics ls 100, ls 101
set key outside right top Left reverse samplen 2.5 spacing 1.15 width -2
set style fill transparent solid 0.2 noborder
set linetype 1 lc rgb '#0072B2' lw 2
set linetype 2 lc rgb '#D55E00' lw 2
set linetype 3 lc rgb '#009E73' lw 2
set linetype 4 lc rgb '#CC79A7' lw 2
set linetype 5 lc rgb '#E69F00' lw 2
set linetype 6 lc rgb '#56B4E9' lw 2
set linetype 7 lc rgb '#000000' lw 2
set linetype 8 lc rgb '#999999' lw 2

set terminal svg size 900,560 dynamic noenhanced font 'sans,14' background rgb 'white'
set output outdir.'/born_dead.svg'
plot data index 0 using 1:3:4 with filledcurves lt 1 notitle, \
  data index 1 using 1:3:4 with filledcurves lt 2 notitle, \
  data index 2 using 1:3:4 with filledcurves lt 3 notitle, \
  data index 3 using 1:3:4 with filledcurves lt 4 notitle, \
  data index 0 using 1:2 with linespoints pt 7 ps 0.6 lt 1 dt 1 title "width 2", \
  data index 1 using 1:2 with linespoints pt 7 ps 0.6 lt 2 dt 1 title "width 3", \
  data index 2 using 1:2 with linespoints pt 7 ps 0.6 lt 3 dt 1 title "width 4", \
  data index 3 using 1:2 with linespoints pt 7 ps 0.6 lt 4 dt 1 title "width 8", \
  data index 4 using 1:2 with linespoints pt 7 ps 0.6 lt 5 dt 1 title "width 2, 1 - (1 - 2^-W)^(L-1)", \
  data index 5 using 1:2 with linespoints pt 7 ps 0.6 lt 6 dt 1 title "width 3, 1 - (1 - 2^-W)^(L-1)", \
  data index 6 using 1:2 with linespoints pt 7 ps 0.6 lt 7 dt 1 title "width 4, 1 - (1 - 2^-W)^(L-1)", \
  data index 7 using 1:2 with linespoints pt 7 ps 0.6 lt 8 dt 1 title "width 8, 1 - (1 - 2^-W)^(L-1)"
set terminal pngcairo size 900,560 noenhanced font 'sans,12' background rgb 'white'
set output outdir.'/born_dead.png'
replot
set output
