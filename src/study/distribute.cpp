// run_distributed: the study's independent runs spread over the ranks of an MPI job.
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <numeric>
#include <sstream>

#include <fmt/format.h>

#include "relulab/io/atomic_file.hpp"
#include "runs.hpp"

namespace relulab::study {
namespace {

namespace fs = std::filesystem;

// A run folder's files as one string: per file, the length of its path below the study folder,
// the path, the length of its contents and the contents (lengths as 8 little-endian bytes).
void append_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

Result<std::string> pack_run(const fs::path& study_dir, const std::string& id) {
  std::string out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(study_dir / "runs" / id, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    if (!in) return Status::io_error(fmt::format("cannot read '{}'", it->path().string()));
    const std::string rel = fs::relative(it->path(), study_dir).generic_string();
    append_u64(out, rel.size());
    out += rel;
    const std::string contents = bytes.str();
    append_u64(out, contents.size());
    out += contents;
  }
  if (ec) return Status::io_error(fmt::format("cannot list '{}': {}", id, ec.message()));
  return out;
}

// Writes what pack_run packed into study_dir, each run's result.json after its other files, so
// that a crash midway leaves a run unfinished (retrained next time), never half-finished.
Status unpack_runs(std::string_view packed, const fs::path& study_dir, int from_rank) {
  std::vector<std::pair<std::string, std::string_view>> files;
  std::size_t at = 0;
  auto u64 = [&](std::uint64_t& v) {
    if (packed.size() - at < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i)
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(packed[at + i])) << (8 * i);
    at += 8;
    return true;
  };
  while (at < packed.size()) {
    std::uint64_t n = 0, size = 0;
    if (!u64(n) || packed.size() - at < n)
      return Status::corrupt_data(fmt::format("runs from rank {}: truncated", from_rank));
    std::string rel(packed.substr(at, n));
    at += n;
    if (!u64(size) || packed.size() - at < size)
      return Status::corrupt_data(fmt::format("runs from rank {}: truncated", from_rank));
    if (!rel.starts_with("runs/") || rel.find("..") != std::string::npos)
      return Status::corrupt_data(fmt::format("runs from rank {}: bad path '{}'", from_rank, rel));
    files.emplace_back(std::move(rel), packed.substr(at, size));
    at += size;
  }
  std::stable_partition(files.begin(), files.end(), [](const auto& f) {
    return fs::path(f.first).filename() != "result.json";
  });
  for (const auto& [rel, contents] : files) {
    const fs::path path = study_dir / rel;
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec)
      return Status::io_error(
          fmt::format("cannot create '{}': {}", path.parent_path().string(), ec.message()));
    RELULAB_TRY(io::write_text_atomically(path, contents));
  }
  return Status::ok();
}

}  // namespace

Status run_distributed(const std::vector<RunSpec>& list, const data::TrainTest& data,
                       const fs::path& study_dir, Communicator& comm,
                       const std::function<double(const RunSpec&)>& weight,
                       const std::function<RunProgress(const RunSpec&)>& progress) {
  // Rank 0 knows which runs its folder already holds; the others learn the list from it.
  std::string pending_text;
  if (comm.is_root()) {
    for (std::size_t i = 0; i < list.size(); ++i)
      if (!is_finished(list[i], study_dir)) pending_text += fmt::format("{} ", i);
  }
  comm.broadcast(pending_text, 0);
  std::vector<std::size_t> pending;
  std::istringstream in(pending_text);
  for (std::size_t i; in >> i;) pending.push_back(i);
  if (pending.empty()) return Status::ok();

  // Longest first, each to the least loaded rank (the same answer on every rank).
  std::stable_sort(pending.begin(), pending.end(),
                   [&](std::size_t a, std::size_t b) { return weight(list[a]) > weight(list[b]); });
  std::vector<double> load(static_cast<std::size_t>(comm.size()), 0.0);
  std::vector<std::size_t> mine;
  for (const std::size_t i : pending) {
    const auto r =
        static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    load[r] += weight(list[i]);
    if (static_cast<int>(r) == comm.rank()) mine.push_back(i);
  }
  if (comm.is_root()) {
    fmt::print("study: {} runs to train over {} ranks ({} here on rank 0)\n", pending.size(),
               comm.size(), mine.size());
    std::fflush(stdout);
  }

  // The others work in a private folder: only rank 0 writes the study's.
  const fs::path here = comm.is_root()
                            ? study_dir
                            : fs::temp_directory_path() /
                                  fmt::format("relulab-study-{}-rank-{}", ::getpid(), comm.rank());
  std::string packed;
  for (std::size_t k = 0; k < mine.size(); ++k) {
    const RunSpec& spec = list[mine[k]];
    auto result = run_or_reuse(spec, data, here, comm.is_root() ? progress(spec) : RunProgress{});
    if (!result) return result.status();
    if (!comm.is_root()) {
      auto files = pack_run(here, spec.id);
      if (!files) return files.status();
      packed += files.value();
      fmt::print("study: rank {}: run {}/{} {} done\n", comm.rank(), k + 1, mine.size(), spec.id);
      std::fflush(stdout);
    }
  }
  comm.wait_for_all();  // sleeping, while the slowest rank finishes
  const std::vector<std::string> all = comm.gather(packed);
  if (!comm.is_root()) {
    std::error_code ec;
    fs::remove_all(here, ec);
    return Status::ok();
  }
  for (std::size_t r = 1; r < all.size(); ++r)
    RELULAB_TRY(unpack_runs(all[r], study_dir, static_cast<int>(r)));
  return Status::ok();
}

}  // namespace relulab::study
