// `relulab plot`: f and f' of each activation, sampled with the fast kernels, drawn by gnuplot.
//
// Into DIR it writes NAME.dat (columns x, f(x), f'(x)) for each activation and plot.gp, which
// draws NAME.svg/NAME.png and compare.svg/compare.png (every f on one chart); `gnuplot plot.gp`
// in DIR re-plots. Every file appears atomically: data and script are written to a temporary
// name and renamed; gnuplot draws into a temporary directory whose files are then renamed.
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "relulab/study/gnuplot.hpp"

namespace relulab::cli {
namespace {

namespace fs = std::filesystem;

// Writes `content` to `path` through a temporary file in the same directory and a rename, so a
// reader never sees a half-written file.
void write_file_atomically(const fs::path& path, std::string_view content) {
  const fs::path temp = path.string() + fmt::format(".tmp{}", ::getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) {
      throw RuntimeError(fmt::format("cannot write {}: {}", temp.string(), std::strerror(errno)));
    }
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    fs::remove(temp, ec);
    throw RuntimeError(fmt::format("cannot rename {} to {}", temp.string(), path.string()));
  }
}

// Columns x, f(x), f'(x) on `points` evenly spaced x in [x_min, x_max]; f' is the backward
// kernel with dy = 1.
std::string sample_text(const ActivationSpec& spec, const PlotOptions& options) {
  const auto n = static_cast<std::size_t>(options.points);
  std::vector<float> x(n), y(n), dx(n), dy(n, 1.0f);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] =
        static_cast<float>(options.x_min + (options.x_max - options.x_min) *
                                               static_cast<double>(i) / static_cast<double>(n - 1));
  }
  activation_forward(spec, x, y);
  activation_backward(spec, x, dy, dx);
  std::string out = fmt::format("# {}: x f(x) f'(x), from relulab's kernels\n", describe(spec));
  for (std::size_t i = 0; i < n; ++i)
    out += fmt::format("{:.9g} {:.9g} {:.9g}\n", x[i], y[i], dx[i]);
  return out;
}

using study::gnuplot_string;

// Draws the current chart to outdir/NAME.svg and outdir/NAME.png.
std::string draw_both(std::string_view name, std::string_view plot_command, int width, int height) {
  return fmt::format(
      "set terminal svg size {0},{1} dynamic noenhanced font 'sans,14' background rgb 'white'\n"
      "set output outdir.'/{2}.svg'\n"
      "{3}\n"
      "set terminal pngcairo size {0},{1} noenhanced font 'sans,12' background rgb 'white'\n"
      "set output outdir.'/{2}.png'\n"
      "replot\n"
      "set output\n\n",
      width, height, name, plot_command);
}

std::string gnuplot_script(const std::vector<ActivationSpec>& specs, const PlotOptions& options) {
  std::string out = fmt::format(
      "# Written by `relulab plot`. Re-plot with `gnuplot plot.gp` in this directory.\n"
      "# NAME.dat holds x, f(x), f'(x) computed by relulab's kernels (f' with dy = 1).\n"
      "outdir = exists('outdir') ? outdir : '.'\n"
      "set grid\n"
      "set xzeroaxis\n"
      "set yzeroaxis\n"
      "set xrange [{}:{}]\n"
      "set xlabel 'x'\n"
      "set key top left box opaque\n\n",
      options.x_min, options.x_max);
  for (const ActivationSpec& spec : specs) {
    const std::string_view name = activation_info(spec.kind).name;
    // The formula goes on a second, smaller line: some (SELU's) are 120 characters long.
    out += fmt::format("set title {} font ',10'\nset ylabel 'y'\n",
                       gnuplot_string(describe(spec) + "\nf(x) = " +
                                      std::string(activation_info(spec.kind).formula)));
    const std::string plot = fmt::format(
        "plot '{0}.dat' using 1:2 with lines lw 2 title 'f(x)', "
        "'{0}.dat' using 1:3 with lines lw 2 dt 2 title \"f'(x)\"",
        name);
    out += draw_both(name, plot, 900, 600);
  }

  // Eight colours, then the same eight dashed, so sixteen curves stay distinguishable.
  std::string plot = "plot ";
  for (std::size_t i = 0; i < specs.size(); ++i) {
    plot += fmt::format("{}'{}.dat' using 1:2 with lines lw 2 lc {} dt {} title {}",
                        i == 0 ? "" : ", ", activation_info(specs[i].kind).name, i % 8 + 1,
                        i / 8 + 1, gnuplot_string(describe(specs[i])));
  }
  out += "set title 'Activations: f(x)' font ',12'\n";
  out += "set ylabel 'f(x)'\n";
  out += "set key outside right top box\n";
  out += draw_both("compare", plot, 1200, 700);
  return out;
}

// Draws plot.gp's images into `dir`, each appearing atomically (see study::run_gnuplot).
void render(const fs::path& dir, const std::vector<std::string>& image_names) {
  const Status drawn = study::run_gnuplot(dir, "plot.gp", image_names);
  if (!drawn) throw RuntimeError(drawn.message());
}

}  // namespace

CLI::App* add_plot_command(CLI::App& app, PlotOptions& options) {
  CLI::App* command = app.add_subcommand(
      "plot", "Plot f and f' of each activation (SVG + PNG via gnuplot) and one chart of all");
  add_activation_args(*command, options.activations);
  command->add_option("--out", options.out_dir, "Output directory (created if missing)")
      ->capture_default_str();
  command->add_option("--xmin", options.x_min, "Left end of the x range")->capture_default_str();
  command->add_option("--xmax", options.x_max, "Right end of the x range")->capture_default_str();
  command->add_option("--points", options.points, "Samples per curve")
      ->check(CLI::Range(2, 1000000))
      ->capture_default_str();
  return command;
}

void run_plot(const PlotOptions& options) {
  if (!std::isfinite(options.x_min) || !std::isfinite(options.x_max) ||
      !(options.x_min < options.x_max)) {
    throw UsageError(fmt::format("--xmin {} --xmax {}: need finite values with xmin < xmax",
                                 options.x_min, options.x_max));
  }
  std::vector<ActivationSpec> specs;
  for (const ActivationSpec& spec : resolve_specs(options.activations)) {
    bool seen = false;
    for (const ActivationSpec& earlier : specs) seen = seen || earlier.kind == spec.kind;
    if (!seen) specs.push_back(spec);
  }

  const fs::path& dir = options.out_dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw RuntimeError(fmt::format("cannot create output directory {}: {}", dir.string(),
                                   ec ? ec.message() : "not a directory"));
  }
  std::vector<std::string> images;
  for (const ActivationSpec& spec : specs) {
    const std::string name(activation_info(spec.kind).name);
    write_file_atomically(dir / (name + ".dat"), sample_text(spec, options));
    images.push_back(name + ".svg");
    images.push_back(name + ".png");
  }
  images.push_back("compare.svg");
  images.push_back("compare.png");
  write_file_atomically(dir / "plot.gp", gnuplot_script(specs, options));
  render(dir, images);
  fmt::print("wrote {} charts (SVG + PNG), their data and plot.gp to {}\n", specs.size() + 1,
             dir.string());
}

}  // namespace relulab::cli
