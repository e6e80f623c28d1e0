// Sections 1 (shapes) and 2 (cost): what each activation computes, and what it costs here.
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "relulab/activation.hpp"
#include "relulab/io/atomic_file.hpp"
#include "relulab/kernel_timing.hpp"
#include "relulab/threads.hpp"
#include "sections.hpp"
#include "verdict_rules.hpp"

namespace relulab::study {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

Json read_json(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return Json::parse(s.str(), nullptr, false);
}

const std::vector<std::pair<std::string, std::vector<Activation>>>& shape_groups() {
  static const std::vector<std::pair<std::string, std::vector<Activation>>> groups{
      {"relu_family",
       {Activation::kReLU, Activation::kLeakyReLU, Activation::kReLU6, Activation::kELU,
        Activation::kSELU, Activation::kCELU}},
      {"smooth",
       {Activation::kGELU, Activation::kGELUTanh, Activation::kSiLU, Activation::kMish,
        Activation::kSoftplus, Activation::kHardSwish}},
      {"s_shaped", {Activation::kSigmoid, Activation::kTanh, Activation::kHardSigmoid}},
  };
  return groups;
}

}  // namespace

Section shapes_section(const fs::path& dir) {
  // f and f' on a grid, from the library's own kernels, written to data/shapes.json and read back.
  constexpr int kPoints = 401;
  Json data;
  std::vector<float> x(kPoints), y(kPoints), dx(kPoints), ones(kPoints, 1.0f);
  for (int i = 0; i < kPoints; ++i)
    x[static_cast<std::size_t>(i)] = -6.0f + 12.0f * static_cast<float>(i) / (kPoints - 1);
  const std::vector<float> probe{-10.0f, -1.0f, 1.0f, 10.0f};
  std::vector<float> probe_d(probe.size()), probe_ones(probe.size(), 1.0f);
  for (const ActivationInfo& info : activation_table()) {
    const ActivationSpec spec = default_spec(info.id);
    activation_forward(spec, x, y);
    activation_backward(spec, x, ones, dx);
    activation_backward(spec, probe, probe_ones, probe_d);
    data[std::string(info.name)] = {
        {"x", x}, {"f", y}, {"df", dx}, {"probe_x", probe}, {"probe_df", probe_d}};
  }
  const fs::path file = dir / "data" / "shapes.json";
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  (void)io::write_text_atomically(file, data.dump());
  const Json back = read_json(file);

  Section s;
  s.id = "shapes";
  s.title = "1. Shapes: f and f' of every activation";
  s.claim =
      "ReLU does not saturate for x > 0: its derivative stays 1, while sigmoid's and tanh's "
      "derivatives vanish for large |x|.";
  s.source =
      "Glorot, Bordes & Bengio (2011), Deep Sparse Rectifier Neural Networks; Nair & Hinton "
      "(2010).";
  s.method =
      "The library's own forward and backward kernels evaluated on 401 points in [-6, 6] and "
      "at x = ±1, ±10 (data/shapes.json).";
  Table t{"f'(x) from the backward kernels",
          {"activation", "f'(-10)", "f'(-1)", "f'(1)", "f'(10)"},
          {}};
  for (const ActivationInfo& info : activation_table()) {
    const Json& a = back[std::string(info.name)];
    std::vector<std::string> row{std::string(info.name)};
    for (int i = 0; i < 4; ++i)
      row.push_back(fmt::format("{:.3g}", a["probe_df"][i].get<double>()));
    t.rows.push_back(row);
  }
  s.tables.push_back(t);
  for (const auto& [group, members] : shape_groups()) {
    for (const bool derivative : {false, true}) {
      Figure f;
      f.name = fmt::format("shapes_{}_{}", group, derivative ? "df" : "f");
      f.title = fmt::format("{} ({})", derivative ? "f'(x)" : "f(x)", group);
      f.xlabel = "x";
      f.ylabel = derivative ? "f'(x)" : "f(x)";
      for (const Activation a : members) {
        const Json& j = back[std::string(activation_info(a).name)];
        f.series.push_back({std::string(activation_info(a).name),
                            j["x"].get<std::vector<double>>(),
                            j[derivative ? "df" : "f"].get<std::vector<double>>(),
                            {},
                            {}});
      }
      s.figures.push_back(std::move(f));
    }
  }
  const auto df = [&](const char* name, int i) { return back[name]["probe_df"][i].get<double>(); };
  s.finding = fmt::format(
      "At x = 10, f'(x) is {:.3g} for ReLU, {:.3g} for sigmoid and {:.3g} for tanh; at x = 1 it is "
      "{:.3g}, {:.3g} and {:.3g}. Chained over 10 layers at x = 1, sigmoid alone would scale a "
      "gradient by {:.2g}, ReLU by 1.",
      df("relu", 3), df("sigmoid", 3), df("tanh", 3), df("relu", 2), df("sigmoid", 2),
      df("tanh", 2), std::pow(df("sigmoid", 2), 10));
  constexpr double kSaturated = 1e-3;
  s.rule = fmt::format(
      "holds when ReLU's derivative at x = 10 is exactly 1 and sigmoid's and tanh's are below "
      "{:g}; otherwise does not hold.",
      kSaturated);
  s.verdict = (df("relu", 3) == 1.0 && df("sigmoid", 3) < kSaturated && df("tanh", 3) < kSaturated)
                  ? Verdict::kHolds
                  : Verdict::kDoesNotHold;
  return s;
}

Section cost_section(const Scale& scale, const StudyOptions&, const fs::path& dir) {
  // Each activation's forward and backward timed in cache (2^15 floats, 128 KiB per buffer, below
  // kParallelThreshold: one thread) and out of cache (2^24, 64 MiB, on thread_count() threads),
  // against a copy of the same bytes.
  const std::vector<std::size_t> sizes{std::size_t{1} << 15,
                                       scale.quick ? std::size_t{1} << 22 : std::size_t{1} << 24};
  TimingPlan plan;
  plan.reps = scale.quick ? 3 : 7;
  plan.elements_per_rep = scale.quick ? std::size_t{1} << 22 : std::size_t{1} << 25;
  Json data;
  data["threads"] = thread_count();
  data["simd_target"] = simd_target_name();
  for (const std::size_t n : sizes) {
    const double copy = time_copy(n, plan);
    Json row;
    row["copy_seconds"] = copy;
    for (const ActivationInfo& info : activation_table()) {
      const KernelTiming t = time_activation(default_spec(info.id), n, plan, copy);
      row[std::string(info.name)] = {{"forward_seconds", t.forward_seconds},
                                     {"backward_seconds", t.backward_seconds}};
    }
    data[std::to_string(n)] = row;
  }
  // The verdict's ratio, with its spread: ReLU and sigmoid timed one after the other in each of
  // `trials` trials (A B A B ...), so that both meet the same machine state, one ratio per trial.
  const int trials = scale.quick ? 3 : 7;
  for (const std::size_t n : sizes) {
    const double copy = time_copy(n, plan);
    Json ratios = Json::array();
    for (int i = 0; i < trials; ++i) {
      const double relu =
          time_activation(default_spec(Activation::kReLU), n, plan, copy).forward_seconds;
      const double sigmoid =
          time_activation(default_spec(Activation::kSigmoid), n, plan, copy).forward_seconds;
      ratios.push_back(sigmoid / relu);
    }
    data["sigmoid_over_relu_trials"][std::to_string(n)] = ratios;
  }
  const fs::path file = dir / "data" / "cost.json";
  (void)io::write_text_atomically(file, data.dump(1));
  const Json back = read_json(file);
  const auto torch_file =
      time_pytorch(sizes, thread_count(), plan.reps, plan.elements_per_rep, dir);
  const Json torch = torch_file ? read_json(*torch_file) : Json();

  Section s;
  s.id = "cost";
  s.title = "2. Cost: forward and backward throughput of each activation";
  s.claim =
      "ReLU is the cheapest nonlinearity; the exponential in sigmoid makes it far more expensive.";
  s.source =
      "Krizhevsky, Sutskever & Hinton (2012); Glorot et al. (2011): \"computationally cheaper\".";
  s.method = fmt::format(
      "relulab's kernels (SIMD target {}, {} threads) timed with relulab/kernel_timing.hpp: median "
      "of "
      "{} repetitions, in cache (2^15 floats, one thread) and out of cache (2^{} floats), relative "
      "to ReLU and "
      "to a copy of the same bytes measured in the same run (data/cost.json). PyTorch, when "
      "/usr/bin/python3 imports torch: the same forward passes through torch.nn.functional (which "
      "allocates its output) at the same sizes and threads (data/torch_cost.json, script "
      "data/torch_cost.py); backward ops and allocation-free timings are in docs/performance.md "
      "(bash scripts/bench-kernels).",
      back["simd_target"].get<std::string>(), back["threads"].get<int>(), plan.reps,
      scale.quick ? 22 : 24);
  Table t{"Gelem/s (× ReLU's time; × copy bandwidth)",
          {"activation", "fwd in cache", "bwd in cache", "fwd out of cache", "bwd out of cache"},
          {}};
  Figure fig{"cost",
             "Forward time relative to ReLU",
             "activation (table order)",
             "time / ReLU's time",
             false,
             true,
             {}};
  std::vector<double> idx, in_cache, out_cache;
  double sigmoid_in = 0, sigmoid_out = 0;
  int k = 0;
  for (const ActivationInfo& info : activation_table()) {
    std::vector<std::string> row{std::string(info.name)};
    for (const std::size_t n : sizes) {
      const Json& r = back[std::to_string(n)];
      const double copy = r["copy_seconds"].get<double>();
      for (const char* pass : {"forward_seconds", "backward_seconds"}) {
        const double sec = r[std::string(info.name)][pass].get<double>();
        const double relu = r["relu"][pass].get<double>();
        const double bytes =
            std::string(pass) == "forward_seconds" ? kForwardBytes : kBackwardBytes;
        row.push_back(fmt::format("{:.2f} (×{:.1f}; {:.2f})", static_cast<double>(n) / sec * 1e-9,
                                  sec / relu, (bytes / sec) / (kCopyBytes / copy)));
      }
      const double ratio = r[std::string(info.name)]["forward_seconds"].get<double>() /
                           r["relu"]["forward_seconds"].get<double>();
      (n == sizes[0] ? in_cache : out_cache).push_back(ratio);
      if (info.id == Activation::kSigmoid) (n == sizes[0] ? sigmoid_in : sigmoid_out) = ratio;
    }
    idx.push_back(k++);
    t.rows.push_back(row);
  }
  fig.series.push_back({"in cache (2^15)", idx, in_cache, {}, {}});
  fig.series.push_back({"out of cache", idx, out_cache, {}, {}});
  s.tables.push_back(t);
  s.figures.push_back(fig);
  std::string torch_finding = " PyTorch was not measured (/usr/bin/python3 cannot import torch).";
  if (torch.is_object() && torch.contains(std::to_string(sizes[0]))) {
    Table pt{fmt::format("Forward Gelem/s, relulab against PyTorch {} (× ReLU's time within each "
                         "library)",
                         torch.value("torch", "?")),
             {"activation", "relulab in cache", "PyTorch in cache", "relulab out of cache",
              "PyTorch out of cache"},
             {}};
    for (const ActivationInfo& info : activation_table()) {
      const std::string name(info.name);
      std::vector<std::string> row{name};
      for (const std::size_t n : sizes) {
        const std::string key = std::to_string(n);
        const double ours = back[key][name]["forward_seconds"].get<double>();
        const double ours_relu = back[key]["relu"]["forward_seconds"].get<double>();
        row.push_back(fmt::format("{:.2f} (×{:.1f})", static_cast<double>(n) / ours * 1e-9,
                                  ours / ours_relu));
        if (torch[key].contains(name)) {
          const double theirs = torch[key][name].get<double>();
          row.push_back(fmt::format("{:.2f} (×{:.1f})", static_cast<double>(n) / theirs * 1e-9,
                                    theirs / torch[key]["relu"].get<double>()));
        } else {
          row.push_back("n/a");
        }
      }
      pt.rows.push_back(row);
    }
    s.tables.push_back(pt);
    const std::string in = std::to_string(sizes[0]), out = std::to_string(sizes[1]);
    torch_finding = fmt::format(
        " In PyTorch {}, sigmoid takes {:.1f}× its ReLU's time in cache and {:.1f}× out of cache.",
        torch.value("torch", "?"),
        torch[in]["sigmoid"].get<double>() / torch[in]["relu"].get<double>(),
        torch[out]["sigmoid"].get<double>() / torch[out]["relu"].get<double>());
  }
  std::vector<double> trials_in, trials_out;
  for (const Json& r : back["sigmoid_over_relu_trials"][std::to_string(sizes[0])])
    trials_in.push_back(r.get<double>());
  for (const Json& r : back["sigmoid_over_relu_trials"][std::to_string(sizes[1])])
    trials_out.push_back(r.get<double>());
  s.finding = fmt::format(
      "Sigmoid's forward pass takes {:.1f}× ReLU's time in cache and {:.1f}× out of cache in the "
      "table; over {} interleaved trials (median and range), {}× in cache and {}× out of cache. "
      "In cache the exponential costs; out of cache every activation waits on memory, so the gap "
      "shrinks toward the copy bandwidth. Next to the matrix products of a layer, either is "
      "small.{}",
      sigmoid_in, sigmoid_out, trials, median_range(trials_in, 2), median_range(trials_out, 2),
      torch_finding);
  s.rule = fmt::format(
      "one point each, on every trial: sigmoid's forward takes more than {}× ReLU's time in "
      "cache; and out of cache. Holds with both, does not hold with neither, partly otherwise; "
      "inconclusive when trials on both sides of {}× could change that. {}× is our reading of "
      "\"far more expensive\" (the sources give no figure): an exponential and a division per "
      "element against a max.",
      kExpensive, kExpensive, kExpensive);
  s.verdict = cost_verdict(trials_in, trials_out);
  return s;
}

}  // namespace relulab::study
