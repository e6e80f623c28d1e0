// Figures drawn by gnuplot, run as a child process: the one place where relulab starts gnuplot
// (`relulab plot` and the `relulab study` report both go through run_gnuplot).
//
// A figure is written as three files a reader can use without relulab:
//   DIR/data/NAME.csv      the numbers (written first, so they exist even if drawing fails)
//   DIR/figures/NAME.gp    the gnuplot script; `gnuplot NAME.gp` in DIR/figures re-draws it
//   DIR/figures/NAME.svg, DIR/figures/NAME.png   the drawings
// Every file appears atomically: text through io::write_text_atomically, images drawn into a
// temporary directory next to their final place and renamed.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "relulab/status.hpp"

namespace relulab::study {

// One curve. x and y have the same length; low and high are both empty or both as long as y
// and then draw a filled band under the line (e.g. the min and max over seeds). Non-finite
// values are written as nan/inf and leave a gap; on a log axis so do values <= 0.
struct Series {
  std::string label;
  std::vector<double> x, y;
  std::vector<double> low, high;
  bool points_only = false;  // marks without a line: separate events (runs that diverged)
};

struct Figure {
  std::string name;  // file stem: letters, digits, '_', '-' and '.' (not first)
  std::string title, xlabel, ylabel;
  bool log_x = false, log_y = false;
  std::vector<Series> series;
};

struct GnuplotOptions {
  // Run through PATH unless it contains a '/'.
  std::string executable = "gnuplot";
};

// `text` as a gnuplot double-quoted string (quotes and backslashes escaped, newline as \n).
std::string gnuplot_string(std::string_view text);

// Runs `EXECUTABLE -e "outdir='STAGING'" SCRIPT` with working directory `dir`, where STAGING is
// a fresh temporary directory inside `dir` and SCRIPT (a file in `dir`) writes each of `images`
// as outdir.'/IMAGE'. Each image is then checked to be non-empty and renamed to dir/IMAGE; the
// temporary directory is always removed. Errors (all io_error): the executable is not found
// (the message says "gnuplot not found" and `apt-get install gnuplot-nox`), gnuplot exits
// non-zero or is killed (the message holds the end of its output), or an image is missing or
// empty.
Status run_gnuplot(const std::filesystem::path& dir, std::string_view script,
                   std::span<const std::string> images, const GnuplotOptions& options = {});

// Ok when `EXECUTABLE --version` runs and exits 0; otherwise the io_error run_gnuplot would give.
Status check_gnuplot(const GnuplotOptions& options = {});

// Writes DIR/data/NAME.csv, DIR/figures/NAME.gp, NAME.svg and NAME.png (see the top of this
// file): write_figure_data, then draw_figure.
// Errors: invalid_argument naming the figure for a bad name, no series, or a series with no
// points or mismatched lengths (nothing is written then); io_error for files and gnuplot (see
// run_gnuplot), after which the CSV and the script are still in place when they were written.
Status write_figure(const Figure& figure, const std::filesystem::path& out_dir,
                    const GnuplotOptions& options = {});

// The two text files, creating DIR/data and DIR/figures. The CSV has a header line
// `x,y,low,high,series` and one block per series, blocks separated by two blank lines (gnuplot's
// `index`). Errors: as write_figure, without gnuplot's.
Status write_figure_data(const Figure& figure, const std::filesystem::path& out_dir);

// Runs DIR/figures/NAME.gp (written by write_figure_data) to draw NAME.svg and NAME.png.
// Errors: io_error naming the figure (see run_gnuplot).
Status draw_figure(const Figure& figure, const std::filesystem::path& out_dir,
                   const GnuplotOptions& options = {});

// The checks of write_figure that need no files: ok or invalid_argument naming the figure.
Status validate_figure(const Figure& figure);

}  // namespace relulab::study
