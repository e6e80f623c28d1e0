// `relulab study --quick`, run as a user would: every file is written, figures are valid SVG and
// PNG, the HTML references only local files, numbers in the report are those of the metrics files,
// and a second run reuses the finished runs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"

namespace {

namespace fs = std::filesystem;
using relulab::testing::read_file;
using relulab::testing::run_cli;

class StudyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Under the sanitizers every test skips in SetUp: no study that nothing would read.
#ifndef RELULAB_SANITIZE_BUILD
    dir_ = fs::path(::testing::TempDir()) / ("relulab_study_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    first_ = run_cli("study --quick --out '" + dir_.string() + "'");
#endif
  }
  static void TearDownTestSuite() {
    fs::remove_all(dir_);
  }
  void SetUp() override {
#ifdef RELULAB_SANITIZE_BUILD
    GTEST_SKIP()
        << "the quick study takes too long under the sanitizers; the Release suite runs it";
#endif
    if (!fs::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
    ASSERT_EQ(first_.exit_code, 0) << first_.output;
  }
  static inline fs::path dir_;
  static inline relulab::testing::CommandResult first_;
};

TEST_F(StudyTest, WritesReportDataAndEveryRun) {
  for (const char* f : {"index.html", "report.md", "verdicts.json", "data/shapes.json",
                        "data/cost.json", "data/born_dead.json"}) {
    EXPECT_TRUE(fs::exists(dir_ / f)) << f;
  }
  const auto verdicts = nlohmann::json::parse(read_file(dir_ / "verdicts.json"));
  EXPECT_EQ(verdicts.size(), 7u);
  int runs = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir_ / "runs")) {
    if (entry.path().filename() != "result.json") continue;
    ++runs;
    // A run that diverged in its first epoch has no epoch metrics, and says so.
    const auto result = nlohmann::json::parse(read_file(entry.path()));
    if (result["epochs"].get<int>() > 0) {
      EXPECT_TRUE(fs::exists(entry.path().parent_path() / "metrics.jsonl")) << entry.path();
    } else {
      EXPECT_FALSE(result["completed"].get<bool>()) << entry.path();
      EXPECT_NE(result["error"].get<std::string>().find("step"), std::string::npos);
    }
    EXPECT_TRUE(fs::exists(entry.path().parent_path() / "diagnostics.jsonl")) << entry.path();
  }
  // 7 activations x 4 learning rates (convergence), 4 activations x 3 lrs and x 3 biases
  // (dying), 3 initialisations (dying), He and Xavier at 2 depths, 3 activations at 2 depths
  // (vanishing): 28 + 12 + 12 + 3 + 4 + 6.
  EXPECT_EQ(runs, 65);
}

TEST_F(StudyTest, FiguresAreValidSvgAndPng) {
  const std::string md = read_file(dir_ / "report.md");
  const std::regex image(R"(!\[[^\]]*\]\((figures/[^)]+\.svg)\))");
  int figures = 0;
  for (auto it = std::sregex_iterator(md.begin(), md.end(), image); it != std::sregex_iterator();
       ++it) {
    ++figures;
    const fs::path svg = dir_ / (*it)[1].str();
    const std::string text = read_file(svg);
    EXPECT_TRUE(text.starts_with("<?xml") || text.starts_with("<svg")) << svg;
    EXPECT_NE(text.find("</svg>"), std::string::npos) << svg;
    fs::path png = svg;
    png.replace_extension(".png");
    const std::string bytes = read_file(png);
    ASSERT_GT(bytes.size(), 1000u) << png;
    EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << png;
  }
  EXPECT_GE(figures, 15);
}

TEST_F(StudyTest, HtmlReferencesOnlyLocalFilesThatExist) {
  const std::string html = read_file(dir_ / "index.html");
  const std::regex ref(R"((?:src|href)=\"([^\"]*)\")");
  int refs = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), ref); it != std::sregex_iterator();
       ++it) {
    const std::string target = (*it)[1].str();
    ++refs;
    EXPECT_EQ(target.find("://"), std::string::npos) << target;
    EXPECT_FALSE(target.starts_with("/")) << target;
    if (!target.starts_with("#")) {
      EXPECT_TRUE(fs::exists(dir_ / target)) << target;
    }
  }
  EXPECT_GT(refs, 15);
}

// Epochs to the convergence threshold (30% training error at --quick), as the report defines it:
// interpolated linearly between epochs, from 90% error (chance) at epoch 0.
double epochs_to(const fs::path& metrics, double threshold) {
  const std::string text = read_file(metrics);
  double e0 = 0, err0 = 0.9;
  std::size_t begin = 0;
  while (begin < text.size()) {
    const std::size_t end = text.find('\n', begin);
    const auto j = nlohmann::json::parse(text.substr(begin, end - begin));
    const double e = j["epoch"].get<double>(), err = 1.0 - j["train_accuracy"].get<double>();
    if (err <= threshold) return e0 + (err0 - threshold) / (err0 - err) * (e - e0);
    e0 = e;
    err0 = err;
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return INFINITY;
}

// The best-lr table of section 3 is recomputed from the sweep's metrics files: each activation's
// fastest learning rate and its epochs to the threshold, printed with two decimals.
TEST_F(StudyTest, ReportNumbersComeFromTheMetricsFiles) {
  const std::string md = read_file(dir_ / "report.md");
  for (const char* a : {"relu", "tanh", "gelu"}) {
    std::string best_lr;
    double best = INFINITY;
    int swept = 0;
    for (const auto& lr_dir : fs::directory_iterator(dir_ / "runs/convergence" / a)) {
      ++swept;
      const fs::path metrics = lr_dir.path() / "seed-1/metrics.jsonl";
      if (!fs::exists(metrics)) continue;  // diverged in its first epoch
      const double e = epochs_to(metrics, 0.3);
      if (e < best) best = e, best_lr = lr_dir.path().filename().string().substr(3);
    }
    EXPECT_EQ(swept, 4) << a;
    ASSERT_TRUE(std::isfinite(best)) << a << " never reached 30% at --quick";
    const std::string row = fmt::format("| {} | {} | {:.2f} |", a, best_lr, best);
    EXPECT_NE(md.find(row), std::string::npos) << row;
  }
  // Born dead: the table's percentages are data/born_dead.json's counts.
  const auto born = nlohmann::json::parse(read_file(dir_ / "data/born_dead.json"));
  for (const auto& r : born) {
    const double pct = 100.0 * r["born_dead"].get<double>() / r["inits"].get<double>();
    const std::string row =
        fmt::format("| {} | {} | {:.0f}% |", r["width"].get<int>(), r["depth"].get<int>(), pct);
    EXPECT_NE(md.find(row), std::string::npos) << row;
  }
}

TEST_F(StudyTest, SecondRunReusesFinishedRuns) {
  const fs::path result = dir_ / "runs/convergence/relu/lr-0.01/seed-1/result.json";
  const auto before = fs::last_write_time(result);
  const auto second = run_cli("study --quick --out '" + dir_.string() + "'");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(fs::last_write_time(result), before);
}

TEST_F(StudyTest, BadOptionsAreUsageErrors) {
  EXPECT_EQ(run_cli("study --seeds 0").exit_code, 2);
  const auto unknown =
      run_cli("study --data nowhere --quick --out '" + (dir_ / "bad").string() + "'");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.output.find("fashion-mnist"), std::string::npos) << unknown.output;
}

}  // namespace
