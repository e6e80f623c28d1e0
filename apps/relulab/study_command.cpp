// `relulab study`: the main job. Trains the study's networks, measures every claim and writes
// DIR/index.html and DIR/report.md (relulab/study/study.hpp says what is run and how).
#include <fmt/format.h>

#include "commands.hpp"
#include "relulab/study/study.hpp"

namespace relulab::cli {

CLI::App* add_study_command(CLI::App& app, StudyCommandOptions& o) {
  CLI::App* c = app.add_subcommand(
      "study", "Measure the claims about ReLU on this machine; write a report with figures");
  c->footer(
      "Several processes or machines: `mpirun -np N relulab study ...` spreads the study's "
      "independent runs over the ranks (each run on one rank); rank 0 gathers their files, "
      "times the kernels and writes the same report as one process would, in --out on its "
      "machine. Finished runs found there are reused, as without MPI.");
  c->add_flag("--quick", o.quick, "A smoke run on tiny subsets, one seed (under 3 minutes)");
  c->add_option("--data", o.data, "Data set (as for `relulab train`)")->capture_default_str();
  c->add_option("--seeds", o.seeds,
                "Seeds per configuration (spread = min..max over seeds); default 3, 1 with --quick")
      ->check(CLI::Range(1, 20));
  c->add_option("--out", o.out_dir, "Output directory (finished runs in it are reused)")
      ->capture_default_str();
  c->add_option("--threads", o.threads, "Threads (default: OpenMP's default)")
      ->check(CLI::Range(1, 1024));
  return c;
}

void run_study(const StudyCommandOptions& o, const std::string& command_line, Communicator& comm) {
  study::StudyOptions options;
  options.quick = o.quick;
  options.data = o.data;
  options.seeds = o.seeds;
  options.out_dir = o.out_dir;
  options.threads = o.threads;
  options.command_line = command_line;
  options.version = RELULAB_VERSION;
  options.comm = &comm;
  if (Status s = study::run_study(options); !s) {
    if (s.code() == StatusCode::kInvalidArgument) throw UsageError(s.message());
    throw RuntimeError(s.message());
  }
}

}  // namespace relulab::cli
