// PyTorch's side of section 2: the same activations timed through torch.nn.functional, when
// /usr/bin/python3 can import torch (Debian python3-torch). Optional: without torch the section
// reports relulab alone and says so.
#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "relulab/io/atomic_file.hpp"
#include "sections.hpp"

namespace relulab::study {
namespace {

// Forward of each activation through torch.nn.functional (what users call; it allocates its
// output), median over repetitions of the mean time per call, x uniform in [-8, 8].
constexpr const char* kScript = R"PY(import json, statistics, sys, time
import torch
import torch.nn.functional as F
sizes = [int(s) for s in sys.argv[1].split(",")]
threads, reps, budget, out = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
ops = {
    "relu": F.relu, "leaky_relu": F.leaky_relu, "prelu": lambda x: F.leaky_relu(x, 0.25),
    "relu6": F.relu6, "elu": F.elu, "selu": F.selu, "celu": F.celu, "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"), "silu": F.silu, "mish": F.mish,
    "softplus": F.softplus, "hardsigmoid": F.hardsigmoid, "hardswish": F.hardswish,
    "sigmoid": torch.sigmoid, "tanh": torch.tanh,
}
result = {"torch": torch.__version__}
for i, n in enumerate(sizes):
    torch.set_num_threads(1 if i == 0 else threads)
    x = torch.rand(n) * 16 - 8
    calls = max(1, budget // n)
    row = {}
    for name, op in ops.items():
        op(x)
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(calls):
                op(x)
            times.append((time.perf_counter() - t0) / calls)
        row[name] = statistics.median(times)
    result[str(n)] = row
with open(out, "w") as f:
    json.dump(result, f)
)PY";

}  // namespace

std::optional<std::filesystem::path> time_pytorch(const std::vector<std::size_t>& sizes,
                                                  int threads, int reps,
                                                  std::size_t elements_per_rep,
                                                  const std::filesystem::path& dir) {
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) return std::nullopt;
  const std::filesystem::path script = dir / "data" / "torch_cost.py";
  const std::filesystem::path out = dir / "data" / "torch_cost.json";
  if (!io::write_text_atomically(script, kScript)) return std::nullopt;
  const std::string size_list = fmt::format("{}", fmt::join(sizes, ","));
  const std::string command = fmt::format(
      "/usr/bin/python3 '{}' {} {} {} {} '{}' > '{}' 2>&1", script.string(), size_list, threads,
      reps, elements_per_rep, out.string(), (dir / "data" / "torch_cost.log").string());
  std::filesystem::remove(out);
  if (std::system(command.c_str()) != 0 || !std::filesystem::exists(out)) return std::nullopt;
  return out;
}

}  // namespace relulab::study
