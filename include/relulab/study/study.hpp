// `relulab study`: every claim about ReLU measured on this machine, in a report with figures.
//
// The study trains many small networks (the runs), each described by a RunSpec, and writes each
// run's metrics into DIR/runs/<id>/ (metrics.jsonl, diagnostics.jsonl, gradients.csv, and
// result.json last, written atomically). The report's numbers are read back from those files, so
// every figure in DIR/report.md can be traced to a file; a run whose result.json exists with the
// same configuration is reused, which makes an interrupted study resumable.
//
// Error behaviour: run_study returns invalid_argument for bad options, io_error when DIR cannot
// be written; a run that diverges is not an error (it is a finding) and is reported as such.
#pragma once

#include <filesystem>
#include <string>

#include "relulab/communicator.hpp"
#include "relulab/status.hpp"

namespace relulab::study {

struct StudyOptions {
  bool quick = false;  // a smoke run: tiny subsets, one seed, < 3 minutes on 2 cores
  std::string data = "fashion-mnist";
  // 0: three (so that the spread over seeds has a middle as well as ends), one with --quick.
  int seeds = 0;
  std::filesystem::path out_dir = "study";
  int threads = 0;           // 0: OpenMP's default
  std::string command_line;  // for the reproduce section
  std::string version;
  // Several ranks (mpirun): the runs are spread over them and rank 0 writes the report; the
  // others write nothing in out_dir. nullptr: this process alone.
  Communicator* comm = nullptr;
};

Status run_study(const StudyOptions& options);

}  // namespace relulab::study
