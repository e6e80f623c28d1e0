# shapes_smooth_df: f'(x) (smooth)
# Written by relulab. Re-draw with `gnuplot shapes_smooth_df.gp` in this directory; the numbers are
# in ../data/shapes_smooth_df.csv (columns x, y, low, high, series; one block per series).
outdir = exists('outdir') ? outdir : '.'
data = '../data/shapes_smooth_df.csv'
set datafile separator comma
set title "f'(x) (smooth)" font ',15'
set xlabel "x"
set ylabel "f'(x)"
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
set output outdir.'/shapes_smooth_df.svg'
plot data index 0 using 1:2 with lines lt 1 dt 1 title "gelu", \
  data index 1 using 1:2 with lines lt 2 dt 1 title "gelu_tanh", \
  data index 2 using 1:2 with lines lt 3 dt 1 title "silu", \
  data index 3 using 1:2 with lines lt 4 dt 1 title "mish", \
  data index 4 using 1:2 with lines lt 5 dt 1 title "softplus", \
  data index 5 using 1:2 with lines lt 6 dt 1 title "hardswish"
set terminal pngcairo size 900,560 noenhanced font 'sans,12' background rgb 'white'
set output outdir.'/shapes_smooth_df.png'
replot
set output
