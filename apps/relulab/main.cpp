// `relulab`: the command-line tool. Subcommands live in one file each (see commands.hpp); this
// file wires them into CLI11 and turns errors into the documented exit codes.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "diagnose_command.hpp"
#include "relulab/communicator.hpp"
#include "relulab/gemm.hpp"
#include "relulab/spelling.hpp"
#include "relulab/threads.hpp"
#ifdef RELULAB_HAVE_MPI
#include "relulab/mpi/world.hpp"
#endif

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

#ifdef RELULAB_HAVE_MPI
// Threads per rank when neither --threads nor OMP_NUM_THREADS says: the cores this process may
// use, shared by the ranks on this machine (2 ranks on 2 cores: 1 thread each, not 2 each).
void share_cores(const relulab::Communicator& comm) {
  if (comm.size() == 1 || std::getenv("OMP_NUM_THREADS") != nullptr) return;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  relulab::set_thread_count(std::min(omp_get_num_procs(), std::max(1, cores / comm.local_size())));
}
#endif

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

  // Under mpirun: one World for the whole run. Only train and study are collective.
  std::unique_ptr<relulab::Communicator> world;
  relulab::Communicator* comm = &relulab::single_process();
  if (const int launched = relulab::launcher_world_size(); launched > 1) {
#ifdef RELULAB_HAVE_MPI
    if (!train->parsed() && !study->parsed()) {
      fmt::print(stderr,
                 "relulab: only `relulab train` and `relulab study` run under mpirun; run `relulab "
                 "{}` as one process\n",
                 app.get_subcommands().front()->get_name());
      return kExitUsageError;
    }
    world = std::make_unique<relulab::mpi::World>(argc, argv);
    comm = world.get();
    share_cores(*comm);
#else
    fmt::print(
        stderr,
        "relulab: this binary was built without MPI support (CMake found no MPI: apt install "
        "libopenmpi-dev openmpi-bin and rebuild, or configure with -DRELULAB_MPI=ON to "
        "require it), so the {} copies that mpirun started would each run alone; run it "
        "without mpirun\n",
        launched);
    return kExitUsageError;
#endif
  }

  try {
    if (list->parsed()) run_list(list_options);
    if (plot->parsed()) run_plot(plot_options);
    if (bench->parsed()) run_bench(bench_options);
    if (train->parsed()) run_train(train_options, *comm);
    if (eval->parsed()) run_eval(eval_options);
    if (diagnose->parsed()) run_diagnose(diagnose_options);
    if (study->parsed()) {
      std::string command_line = "relulab";
      for (int i = 1; i < argc; ++i) command_line += std::string(" ") + argv[i];
      run_study(study_options, command_line, *comm);
    }
  } catch (const UsageError& e) {
    // Arguments and configuration are the same on every rank, and so is this error: rank 0 says
    // it and every rank ends normally.
    if (comm->is_root()) fmt::print(stderr, "relulab: {}\n", e.what());
    return kExitUsageError;
  } catch (const SharedRuntimeError& e) {
    if (comm->is_root()) fmt::print(stderr, "relulab: error: {}\n", e.what());
    return kExitRuntimeError;
  } catch (const std::exception& e) {
    if (comm->size() == 1) {
      fmt::print(stderr, "relulab: error: {}\n", e.what());
      return kExitRuntimeError;
    }
    // One rank may fail alone while the others wait in a collective: end the whole job.
    fmt::print(stderr, "relulab: error on rank {} of {}: {}\n", comm->rank(), comm->size(),
               e.what());
    std::fflush(stderr);
    comm->abort(kExitRuntimeError);
  }
  return kExitOk;
}
