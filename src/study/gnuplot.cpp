#include "relulab/study/gnuplot.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>

#include <fmt/format.h>

#include "relulab/io/atomic_file.hpp"

extern char** environ;

namespace relulab::study {
namespace {

namespace fs = std::filesystem;

// Enough of gnuplot's output to show its error line and a few before it.
constexpr std::size_t kOutputTailBytes = 2000;
// Figures are drawn at this size (pixels); SVGs scale with the page (`dynamic`).
constexpr int kWidth = 900, kHeight = 560;
// Series with at most this many points also mark each point: sparse sweeps (depth 2..32) then
// show where the measurements are.
constexpr std::size_t kMarkPointsUpTo = 30;
// Okabe & Ito's colour-blind-safe qualitative palette, without its yellow (too faint on white).
constexpr const char* kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                    "#E69F00", "#56B4E9", "#000000", "#999999"};
constexpr std::size_t kPaletteSize = std::size(kPalette);

std::string trimmed(std::string text) {
  const std::size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const std::size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end + 1 - begin);
}

// The last kOutputTailBytes of the file at `path`, trimmed; "" when it cannot be read.
std::string output_tail(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (text.size() > kOutputTailBytes) text = "..." + text.substr(text.size() - kOutputTailBytes);
  return trimmed(std::move(text));
}

// Runs `args` (args[0] through PATH unless it holds a '/') with working directory `dir`, stdin
// from /dev/null and stdout + stderr into `log`. Ok when it exits 0.
Status run_process(std::vector<std::string> args, const fs::path& dir, const fs::path& log) {
  // A relative program path would otherwise be looked up from `dir`, not from where we are.
  if (args[0].find('/') != std::string::npos) args[0] = fs::absolute(args[0]).string();
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (null_fd < 0 || log_fd < 0) {
    const std::string reason = std::strerror(errno);
    if (null_fd >= 0) ::close(null_fd);
    if (log_fd >= 0) ::close(log_fd);
    return Status::io_error(
        fmt::format("cannot open '{}' for gnuplot's output: {}", log.string(), reason));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, null_fd, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, log_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, log_fd, STDERR_FILENO);
  posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawn_error = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(null_fd);
  ::close(log_fd);
  if (spawn_error == ENOENT) {
    return Status::io_error(fmt::format(
        "gnuplot not found: cannot run '{}' ({}); install it with `apt-get install gnuplot-nox`",
        args[0], std::strerror(spawn_error)));
  }
  if (spawn_error != 0) {
    return Status::io_error(
        fmt::format("cannot start gnuplot '{}': {}", args[0], std::strerror(spawn_error)));
  }
  int wait_status = 0;
  pid_t waited = 0;
  do {
    waited = ::waitpid(pid, &wait_status, 0);
  } while (waited < 0 && errno == EINTR);
  if (waited != pid) {
    return Status::io_error(fmt::format("cannot wait for gnuplot: {}", std::strerror(errno)));
  }
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) return Status::ok();
  const std::string how = WIFEXITED(wait_status)
                              ? fmt::format("exit status {}", WEXITSTATUS(wait_status))
                              : fmt::format("killed by signal {}", WTERMSIG(wait_status));
  return Status::io_error(
      fmt::format("'{}' failed ({}); its output: {}", args[0], how, output_tail(log)));
}

// Runs the script with outdir = `staging` (a directory in `dir`) and moves the images out.
Status draw_into(const fs::path& dir, const fs::path& staging, std::string_view script,
                 std::span<const std::string> images, const GnuplotOptions& options) {
  const fs::path log = staging / "gnuplot-output.txt";
  const std::string script_path = (dir / script).string();
  const Status ran =
      run_process({options.executable, "-e", "outdir='" + staging.filename().string() + "'",
                   std::string(script)},
                  dir, log);
  if (!ran) {
    return Status::io_error(
        fmt::format("{} (drawing {}; it and its data are written: `gnuplot {}` in {} draws them)",
                    ran.message(), script_path, script, dir.string()));
  }
  std::error_code ec;
  for (const std::string& image : images) {
    const std::uintmax_t size = fs::file_size(staging / image, ec);
    if (ec || size == 0) {
      return Status::io_error(fmt::format("gnuplot '{}' ran {} but wrote {} {}; its output: {}",
                                          options.executable, script_path, ec ? "no" : "an empty",
                                          image, output_tail(log)));
    }
  }
  for (const std::string& image : images) {
    fs::rename(staging / image, dir / image, ec);
    if (ec) {
      return Status::io_error(
          fmt::format("cannot move {} to '{}': {}", image, (dir / image).string(), ec.message()));
    }
  }
  return Status::ok();
}

Status make_directory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    return Status::io_error(fmt::format("cannot create directory '{}': {}", dir.string(),
                                        ec ? ec.message() : "a file of that name exists"));
  }
  return Status::ok();
}

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > 100 || name.front() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Shortest text that reads back as the same double; non-finite values as nan, inf, -inf.
std::string csv_number(double v) {
  if (std::isnan(v)) return "nan";
  return fmt::format("{}", v);
}

std::string one_line(std::string_view text) {
  std::string line(text);
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return line;
}

// RFC 4180 field; newlines become spaces so that a label never splits a gnuplot data block.
std::string csv_text(std::string_view text) {
  std::string field;
  bool quote = false;
  for (char c : one_line(text)) {
    quote = quote || c == ',' || c == '"';
    if (c == '"') field += '"';
    field += c;
  }
  return quote ? "\"" + field + "\"" : field;
}

std::string figure_csv(const Figure& figure) {
  std::string out = "x,y,low,high,series\n";
  for (std::size_t s = 0; s < figure.series.size(); ++s) {
    const Series& series = figure.series[s];
    if (s > 0) out += "\n\n";
    const std::string label = csv_text(series.label);
    const bool band = !series.low.empty();
    for (std::size_t i = 0; i < series.x.size(); ++i) {
      out += fmt::format("{},{},{},{},{}\n", csv_number(series.x[i]), csv_number(series.y[i]),
                         band ? csv_number(series.low[i]) : "",
                         band ? csv_number(series.high[i]) : "", label);
    }
  }
  return out;
}

// `plot` arguments: every band first (so no band covers a line), then the lines. Series i has
// colour i mod 8 and dash type i / 8 + 1.
std::string plot_arguments(const Figure& figure) {
  std::string bands, lines;
  for (std::size_t i = 0; i < figure.series.size(); ++i) {
    const Series& series = figure.series[i];
    const std::size_t colour = i % kPaletteSize + 1;
    if (!series.low.empty()) {
      bands += fmt::format("data index {} using 1:3:4 with filledcurves lt {} notitle, \\\n  ", i,
                           colour);
    }
    const bool mark = series.x.size() <= kMarkPointsUpTo;
    const char* style = series.points_only ? "points pt 6 ps 1.2"
                        : mark             ? "linespoints pt 7 ps 0.6"
                                           : "lines";
    lines += fmt::format("{}data index {} using 1:2 with {} lt {} dt {} title {}",
                         lines.empty() ? "" : ", \\\n  ", i, style, colour, i / kPaletteSize + 1,
                         gnuplot_string(series.label));
  }
  return bands + lines;
}

// True when every x is an integer and they span 1 to 20 (epochs, depths): one tick per integer
// then, where gnuplot would label 1.5, 2.5, ...
bool has_short_integer_x(const Figure& figure) {
  if (figure.log_x) return false;
  double lowest = INFINITY, highest = -INFINITY;
  for (const Series& series : figure.series) {
    for (double x : series.x) {
      if (!std::isfinite(x)) continue;
      if (x != std::round(x)) return false;
      lowest = std::min(lowest, x);
      highest = std::max(highest, x);
    }
  }
  return highest - lowest >= 1 && highest - lowest <= 20;
}

std::string figure_script(const Figure& figure) {
  std::string out = fmt::format(
      "# {0}: {1}\n"
      "# Written by relulab. Re-draw with `gnuplot {0}.gp` in this directory; the numbers are\n"
      "# in ../data/{0}.csv (columns x, y, low, high, series; one block per series).\n"
      "outdir = exists('outdir') ? outdir : '.'\n"
      "data = '../data/{0}.csv'\n"
      "set datafile separator comma\n"
      "set title {2} font ',15'\n"
      "set xlabel {3}\n"
      "set ylabel {4}\n"
      "set autoscale xfix\n"
      "set border 3 lc rgb '#404040'\n"
      "set tics nomirror\n"
      "set style line 100 lc rgb '#d0d0d0' lw 1 dt solid\n"
      "set style line 101 lc rgb '#ececec' lw 1 dt solid\n"
      "set grid xtics ytics{5}{6} ls 100, ls 101\n"
      "set key outside right top Left reverse samplen 2.5 spacing 1.15 width -2\n"
      "set style fill transparent solid 0.2 noborder\n",
      figure.name, one_line(figure.title), gnuplot_string(figure.title),
      gnuplot_string(figure.xlabel), gnuplot_string(figure.ylabel), figure.log_x ? " mxtics" : "",
      figure.log_y ? " mytics" : "");
  if (has_short_integer_x(figure)) out += "set xtics 1\n";
  if (figure.log_x) out += "set logscale x\n";
  if (figure.log_y) out += "set logscale y\n";
  for (std::size_t i = 0; i < kPaletteSize; ++i) {
    out += fmt::format("set linetype {} lc rgb '{}' lw 2\n", i + 1, kPalette[i]);
  }
  out += fmt::format(
      "\nset terminal svg size {0},{1} dynamic noenhanced font 'sans,14' background rgb 'white'\n"
      "set output outdir.'/{2}.svg'\n"
      "plot {3}\n"
      "set terminal pngcairo size {0},{1} noenhanced font 'sans,12' background rgb 'white'\n"
      "set output outdir.'/{2}.png'\n"
      "replot\n"
      "set output\n",
      kWidth, kHeight, figure.name, plot_arguments(figure));
  return out;
}

}  // namespace

std::string gnuplot_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

Status run_gnuplot(const fs::path& dir, std::string_view script,
                   std::span<const std::string> images, const GnuplotOptions& options) {
  std::string pattern = (dir / ".gnuplot-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Status::io_error(fmt::format("cannot create a temporary directory in '{}': {}",
                                        dir.string(), std::strerror(errno)));
  }
  const fs::path staging = pattern;
  const Status status = draw_into(dir, staging, script, images, options);
  std::error_code ec;
  fs::remove_all(staging, ec);
  return status;
}

Status check_gnuplot(const GnuplotOptions& options) {
  std::string pattern = (fs::temp_directory_path() / "relulab-gnuplot-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Status::io_error(
        fmt::format("cannot create a temporary directory: {}", std::strerror(errno)));
  }
  const fs::path dir = pattern;
  const Status status = run_process({options.executable, "--version"}, dir, dir / "version.txt");
  std::error_code ec;
  fs::remove_all(dir, ec);
  return status;
}

Status validate_figure(const Figure& figure) {
  if (!is_valid_name(figure.name)) {
    return Status::invalid_argument(fmt::format(
        "figure '{}' ({}): a figure name is 1 to 100 letters, digits, '_', '-' or '.', not "
        "starting with '.'",
        figure.name, figure.title));
  }
  if (figure.series.empty()) {
    return Status::invalid_argument(fmt::format("figure '{}' has no series", figure.name));
  }
  for (std::size_t i = 0; i < figure.series.size(); ++i) {
    const Series& s = figure.series[i];
    const std::string where = fmt::format("figure '{}', series {} ('{}')", figure.name, i, s.label);
    if (s.x.empty()) return Status::invalid_argument(where + " has no points");
    if (s.x.size() != s.y.size()) {
      return Status::invalid_argument(
          fmt::format("{} has {} x values but {} y values", where, s.x.size(), s.y.size()));
    }
    if (s.low.size() != s.high.size() || (!s.low.empty() && s.low.size() != s.y.size())) {
      return Status::invalid_argument(
          fmt::format("{} has {} low and {} high values; need none or {} of each (one per y)",
                      where, s.low.size(), s.high.size(), s.y.size()));
    }
  }
  return Status::ok();
}

Status write_figure_data(const Figure& figure, const fs::path& out_dir) {
  RELULAB_TRY(validate_figure(figure));
  const fs::path data_dir = out_dir / "data", figure_dir = out_dir / "figures";
  RELULAB_TRY(make_directory(data_dir));
  RELULAB_TRY(make_directory(figure_dir));
  RELULAB_TRY(io::write_text_atomically(data_dir / (figure.name + ".csv"), figure_csv(figure)));
  return io::write_text_atomically(figure_dir / (figure.name + ".gp"), figure_script(figure));
}

Status draw_figure(const Figure& figure, const fs::path& out_dir, const GnuplotOptions& options) {
  const std::string images[] = {figure.name + ".svg", figure.name + ".png"};
  const Status drawn = run_gnuplot(out_dir / "figures", figure.name + ".gp", images, options);
  if (!drawn) return Status::io_error(fmt::format("figure '{}': {}", figure.name, drawn.message()));
  return Status::ok();
}

Status write_figure(const Figure& figure, const fs::path& out_dir, const GnuplotOptions& options) {
  RELULAB_TRY(write_figure_data(figure, out_dir));
  return draw_figure(figure, out_dir, options);
}

}  // namespace relulab::study
