// `relulab`: the command-line tool. Subcommands live in one file each (see commands.hpp); this
// file wires them into CLI11 and turns errors into the documented exit codes.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "diagnose_command.hpp"
#include "relulab/gemm.hpp"
#include "relulab/spelling.hpp"

namespace {

constexpr const char* kExitCodesHelp =
    "Exit codes: 0 success; 1 runtime error (cannot write files, gnuplot missing or failed); "
    "2 usage error (unknown flag or activation, bad parameter value).";

// relulab::closest_name over owned strings.
std::string_view closest(std::string_view key, const std::vector<std::string>& names) {
  const std::vector<std::string_view> candidates(names.begin(), names.end());
  return relulab::closest_name(key, candidates);
}

// For each --flag on the command line that the chosen subcommand does not have: the closest one.
void suggest_flags(CLI::App& app, int argc, char** argv) {
  for (CLI::App* command : app.get_subcommands()) {
    std::vector<std::string> names;
    for (const CLI::Option* option : command->get_options()) {
      for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
    }
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      if (!arg.starts_with("--")) continue;
      arg = arg.substr(0, arg.find('='));
      if (std::find(names.begin(), names.end(), arg) != names.end()) continue;
      const std::string_view best = closest(arg, names);
      if (!best.empty())
        fmt::print(stderr, "relulab {}: unknown flag '{}'; did you mean '{}'?\n",
                   command->get_name(), arg, best);
    }
  }
}

// When the first argument is not a subcommand (nor a flag): the closest subcommand.
void suggest_command(CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-' || !app.get_subcommands().empty()) return;
  std::vector<std::string> names;
  for (const CLI::App* command : app.get_subcommands([](CLI::App*) { return true; }))
    names.push_back(command->get_name());
  const std::string_view best = closest(argv[1], names);
  if (!best.empty())
    fmt::print(stderr, "relulab: unknown command '{}'; did you mean '{}'?\n", argv[1], best);
}

}  // namespace

int main(int argc, char** argv) {
  relulab::reexec_for_avx512_gemm(argv);  // OpenBLAS's AVX-512 kernels on Zen 4+ (gemm.hpp)
  using namespace relulab::cli;
  CLI::App app{"relulab: the ReLU family of activation functions, implemented and measured"};
  app.set_version_flag("--version", "relulab " RELULAB_VERSION);
  app.footer(kExitCodesHelp);
  app.require_subcommand(1);

  ListOptions list_options;
  PlotOptions plot_options;
  BenchOptions bench_options;
  TrainOptions train_options;
  EvalOptions eval_options;
  StudyCommandOptions study_options;
  DiagnoseOptions diagnose_options;
  const CLI::App* list = add_list_command(app, list_options);
  const CLI::App* plot = add_plot_command(app, plot_options);
  const CLI::App* bench = add_bench_command(app, bench_options);
  const CLI::App* train = add_train_command(app, train_options);
  const CLI::App* eval = add_eval_command(app, eval_options);
  const CLI::App* study = add_study_command(app, study_options);
  const CLI::App* diagnose = add_diagnose_command(app, diagnose_options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version requests are ParseErrors with exit code 0; everything else is misuse.
    const int cli11_code = app.exit(e);
    if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) suggest_flags(app, argc, argv);
    suggest_command(app, argc, argv);
    return cli11_code == 0 ? kExitOk : kExitUsageError;
  }

  try {
    if (list->parsed()) run_list(list_options);
    if (plot->parsed()) run_plot(plot_options);
    if (bench->parsed()) run_bench(bench_options);
    if (train->parsed()) run_train(train_options);
    if (eval->parsed()) run_eval(eval_options);
    if (diagnose->parsed()) run_diagnose(diagnose_options);
    if (study->parsed()) {
      std::string command_line = "relulab";
      for (int i = 1; i < argc; ++i) command_line += std::string(" ") + argv[i];
      run_study(study_options, command_line);
    }
  } catch (const UsageError& e) {
    fmt::print(stderr, "relulab: {}\n", e.what());
    return kExitUsageError;
  } catch (const std::exception& e) {
    fmt::print(stderr, "relulab: error: {}\n", e.what());
    return kExitRuntimeError;
  }
  return kExitOk;
}
