// `relulab list`: the activation table as text, or as the Markdown of docs/activations.md.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"

namespace relulab::cli {
namespace {

// "negative_slope=0.01 (>= 0)", or "-" for none.
std::string parameters_text(const ActivationInfo& info) {
  if (info.param_count == 0) return "-";
  std::string out;
  for (int i = 0; i < info.param_count; ++i) {
    const ParamInfo& param = info.params[static_cast<std::size_t>(i)];
    if (i > 0) out += ", ";
    out += fmt::format("{}={} ({})", param.name, param.default_value, param.constraint);
  }
  return out;
}

std::string properties_text(const ActivationInfo& info) {
  std::vector<std::string_view> properties;
  if (info.backward_from_output) properties.push_back("backward from y");
  if (info.piecewise_polynomial) properties.push_back("piecewise polynomial");
  if (info.zero_for_negative) properties.push_back("zero for x < 0");
  if (properties.empty()) return "-";
  return fmt::format("{}", fmt::join(properties, ", "));
}

// A table cell: '|' would end the cell, even inside a code span (GitHub Flavored Markdown).
std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

void print_text() {
  struct Row {
    std::string name, pytorch, params, formula;
  };
  std::vector<Row> rows{{"NAME", "PYTORCH", "PARAMETERS (default, constraint)", "f(x)"}};
  for (const ActivationInfo& info : activation_table()) {
    rows.push_back({std::string(info.name), std::string(info.pytorch), parameters_text(info),
                    std::string(info.formula)});
  }
  std::size_t name_width = 0, pytorch_width = 0, params_width = 0;
  for (const Row& row : rows) {
    name_width = std::max(name_width, row.name.size());
    pytorch_width = std::max(pytorch_width, row.pytorch.size());
    params_width = std::max(params_width, row.params.size());
  }
  for (const Row& row : rows) {
    fmt::print("{:<{}}  {:<{}}  {:<{}}  {}\n", row.name, name_width, row.pytorch, pytorch_width,
               row.params, params_width, row.formula);
  }
}

// f'(x) as relulab's CPU kernel computes it (dy = 1), for the conventions table.
std::string kernel_slope(const ActivationSpec& spec, float x) {
  const float dy = 1.0f;
  float dx = 0.0f;
  activation_backward(spec, std::span(&x, 1), std::span(&dy, 1), std::span(&dx, 1));
  if (std::isnan(dx)) return "NaN";
  return std::signbit(dx) && dx == 0 ? "-0" : fmt::format("{:.5g}", dx);
}

// The points where a definition must choose (kinks, NaN), with PyTorch's choice beside ours.
// PyTorch's column was measured with Debian's python3-torch 1.13 (autograd on the CPU, a
// 1-element tensor for its scalar path and a 64-element one for its vector path); where the two
// paths differ, both are given.
void print_conventions() {
  struct Point {
    Activation kind;
    float x;
    std::string_view at, pytorch;
  };
  constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
  const Point points[] = {
      {Activation::kReLU, 0.0f, "f'(0)", "0"},
      {Activation::kLeakyReLU, 0.0f, "f'(0)", "0.01"},
      {Activation::kPReLU, 0.0f, "f'(0)", "0.25"},
      {Activation::kReLU6, 0.0f, "f'(0)", "0"},
      {Activation::kReLU6, 6.0f, "f'(6)", "0"},
      {Activation::kELU, 0.0f, "f'(0)", "1"},
      {Activation::kSELU, 0.0f, "f'(0)", "1.7581"},
      {Activation::kCELU, 0.0f, "f'(0)", "1"},
      {Activation::kHardSigmoid, -3.0f, "f'(-3)", "0"},
      {Activation::kHardSigmoid, 3.0f, "f'(3)", "0"},
      {Activation::kHardSwish, -3.0f, "f'(-3)", "-0.5"},
      {Activation::kHardSwish, 3.0f, "f'(3)", "1.5 (scalar path), 1 (vector path)"},
      {Activation::kReLU, kNaN, "f'(NaN)", "1"},
      {Activation::kLeakyReLU, kNaN, "f'(NaN)", "0.01"},
      {Activation::kPReLU, kNaN, "f'(NaN)", "0.25"},
      {Activation::kReLU6, kNaN, "f'(NaN)", "1 (scalar path), 0 (vector path)"},
      {Activation::kHardSigmoid, kNaN, "f'(NaN)", "0"},
      {Activation::kHardSwish, kNaN, "f'(NaN)", "1 (scalar path), NaN (vector path)"},
      {Activation::kELU, kNaN, "f'(NaN)", "1 (scalar path), NaN (vector path); so selu, celu"},
      {Activation::kGELU, kNaN, "f'(NaN)", "NaN; so every other activation"},
  };
  fmt::print(
      "\n## Conventions at the kinks and at NaN\n\n"
      "Where f' jumps, or x is NaN, the definition must choose a value. relulab's is the same in "
      "every variant of a kernel (backward from x, from y = f(x), the 1-bit ReLU mask, "
      "per-channel PReLU, the CUDA kernels; `tests/activation_nan_zero_test.cpp`); the column "
      "below is what relulab's CPU kernel returns with dy = 1. At a NaN x the activations whose "
      "gradient is a select return what the select gives (every comparison with NaN is false: "
      "relu dy, leaky_relu and prelu slope * dy, relu6 and hardsigmoid 0); the others return "
      "NaN. PyTorch's column: Debian's python3-torch 1.13, CPU autograd, measured on a "
      "1-element tensor (its scalar path) and a 64-element one (its vector path); where they "
      "differ, relulab keeps one answer. f(-0) = -0 wherever f(x) ~ c x near 0, and a result "
      "that underflows keeps the sign of the exact value (gelu(-inf) = -0); relu's flat piece "
      "gives +0 and hardswish's -0, as in PyTorch. Accuracy over every float32 input: "
      "[accuracy.md](accuracy.md).\n\n"
      "| Activation | Point | relulab | PyTorch |\n|---|---|---|---|\n");
  for (const Point& p : points) {
    const ActivationSpec spec = default_spec(p.kind);
    fmt::print("| `{}` | {} | {} | {} |\n", activation_info(p.kind).name, p.at,
               kernel_slope(spec, p.x), p.pytorch);
  }
}

void print_markdown() {
  fmt::print(
      "<!-- Generated by `relulab list --markdown > docs/activations.md`; do not edit by hand. "
      "A test fails when this file differs from the command's output. -->\n"
      "# Activations\n\n"
      "Every activation relulab implements, rendered from its one table "
      "(`relulab::activation_table()` in `src/activation/table.cpp`). Definitions, parameter "
      "names and defaults follow PyTorch. The name is what the CLI accepts "
      "(case-insensitive; `swish` is accepted for `silu`).\n\n"
      "*Backward from y*: the gradient can be computed from the output y = f(x), so training "
      "need not keep x. *Zero for x < 0*: units can die exactly.\n\n"
      "| Name | PyTorch | f(x) | f'(x) | Parameters (default, constraint) | Properties |\n"
      "|---|---|---|---|---|---|\n");
  for (const ActivationInfo& info : activation_table()) {
    fmt::print("| `{}` | `{}` | `{}` | `{}` | {} | {} |\n", info.name, cell(info.pytorch),
               cell(info.formula), cell(info.derivative), cell(parameters_text(info)),
               properties_text(info));
  }
  print_conventions();
}

}  // namespace

CLI::App* add_list_command(CLI::App& app, ListOptions& options) {
  CLI::App* command = app.add_subcommand("list",
                                         "List the activations: formulas, defaults, "
                                         "PyTorch names");
  command->add_flag("--markdown", options.markdown,
                    "Print docs/activations.md (a Markdown table) instead of plain text");
  return command;
}

void run_list(const ListOptions& options) {
  if (options.markdown) {
    print_markdown();
  } else {
    print_text();
  }
}

}  // namespace relulab::cli
