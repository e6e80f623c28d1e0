// Turns activation names and --param NAME=VALUE strings into validated ActivationSpecs.
#include <charconv>
#include <cstddef>
#include <string_view>

#include <fmt/format.h>

#include "commands.hpp"

namespace relulab::cli {
namespace {

struct ParamOverride {
  std::string name;
  float value;
  bool used = false;
};

// "negative_slope=0.2" -> {"negative_slope", 0.2}. Non-finite values parse here and are
// rejected by relulab::validate, whose message names the parameter.
ParamOverride parse_override(std::string_view text) {
  const std::size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == text.size()) {
    throw UsageError(
        fmt::format("--param '{}': expected NAME=VALUE, e.g. negative_slope=0.2", text));
  }
  const std::string_view value_text = text.substr(eq + 1);
  float value = 0.0f;
  const auto [end, ec] =
      std::from_chars(value_text.data(), value_text.data() + value_text.size(), value);
  if (ec != std::errc() || end != value_text.data() + value_text.size()) {
    throw UsageError(fmt::format("--param '{}': '{}' is not a number", text, value_text));
  }
  return {std::string(text.substr(0, eq)), value};
}

// Index of the parameter called `name` in `info`, or -1.
int param_index(const ActivationInfo& info, std::string_view name) {
  for (int i = 0; i < info.param_count; ++i) {
    if (info.params[static_cast<std::size_t>(i)].name == name) return i;
  }
  return -1;
}

}  // namespace

void add_activation_args(CLI::App& command, ActivationArgs& args) {
  command.add_option("names", args.names, "Activations (default: all); see `relulab list`");
  command
      .add_option("--param", args.params,
                  "Parameter override NAME=VALUE, e.g. --param negative_slope=0.2; applies "
                  "to every selected activation with that parameter (repeatable)")
      ->allow_extra_args(false);
}

std::vector<ActivationSpec> resolve_specs(const ActivationArgs& args) {
  std::vector<ActivationSpec> specs;
  if (args.names.empty()) {
    for (const ActivationInfo& info : activation_table()) specs.push_back(default_spec(info.id));
  }
  for (const std::string& name : args.names) {
    Result<Activation> parsed = parse_activation(name);
    if (!parsed) throw UsageError(parsed.status().message());
    specs.push_back(default_spec(parsed.value()));
  }

  std::vector<ParamOverride> overrides;
  for (const std::string& text : args.params) overrides.push_back(parse_override(text));
  for (ActivationSpec& spec : specs) {
    for (ParamOverride& override_param : overrides) {
      const int index = param_index(activation_info(spec.kind), override_param.name);
      if (index < 0) continue;
      spec.params[static_cast<std::size_t>(index)] = override_param.value;
      override_param.used = true;
    }
    if (Status status = validate(spec); !status) throw UsageError(status.message());
  }
  for (const ParamOverride& override_param : overrides) {
    if (!override_param.used) {
      throw UsageError(
          fmt::format("--param {}: none of the selected activations has a parameter of that name "
                      "(`relulab list` shows each activation's parameters)",
                      override_param.name));
    }
  }
  return specs;
}

}  // namespace relulab::cli
